"""Write the JSON Schema of every event version under contracts/schemas/.

Refuses to overwrite a committed version with a breaking change: that must be a new version.
"""

from __future__ import annotations

import json
import sys

from marketplace_contracts.compat import compare
from marketplace_contracts.docs import DOC_PATH, render
from marketplace_contracts.schema import committed_schemas, generated_schemas, schema_path


def main() -> int:
    committed = committed_schemas()
    written = refused = 0
    for key, schema in generated_schemas().items():
        if key in committed and (problems := compare(committed[key], schema)):
            refused += 1
            for problem in problems:
                print(f"refused {key[0]} v{key[1]}: {problem}", file=sys.stderr)
            continue
        path = schema_path(*key)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written += 1
    DOC_PATH.write_text(render())
    print(f"exported schemas: {written} written, {refused} refused; wrote {DOC_PATH.name}")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
