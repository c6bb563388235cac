from eventkit.migrations import run_env

run_env("ops")
