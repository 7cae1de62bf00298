# Sourced by up.sh and down.sh: whether a pid from .run/pids still runs. A process killed
# with -9 whose parent is gone may stay a zombie (nobody reaps it): it holds no port and runs
# nothing, so it does not count as running.
running() { kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
