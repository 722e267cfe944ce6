# shellcheck shell=bash
# The image's allocator settings (Dockerfile, README "Reliability"), for a server started outside
# it: sourced by scripts/serve.sh and bench/bench_load.py. A variable already set is kept.
#  - MKL_DISABLE_FAST_MM=1: MKL keeps no work buffers per inference thread;
#  - jemalloc in glibc's place, where Debian's libjemalloc2 is installed (LD_PRELOAD), giving
#    freed memory back within a second (MALLOC_CONF): memory stays flat under load, whatever
#    the concurrency;
#  - without it, glibc with two arenas (MALLOC_ARENA_MAX=2): memory after load then grows a
#    little with the concurrency, and a line on stderr says so.
export MKL_DISABLE_FAST_MM="${MKL_DISABLE_FAST_MM:-1}"
ATTENZIONE_JEMALLOC=""
for lib in /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do
    if [ -e "$lib" ]; then ATTENZIONE_JEMALLOC="$lib"; break; fi
done
if [ -n "${LD_PRELOAD:-}" ]; then
    :  # the caller chose a preload of their own
elif [ -n "$ATTENZIONE_JEMALLOC" ]; then
    export LD_PRELOAD="$ATTENZIONE_JEMALLOC"
    export MALLOC_CONF="${MALLOC_CONF:-background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0}"
else
    echo "attenzione: libjemalloc2 is not installed (apt install libjemalloc2), so glibc allocates: the server's memory after load grows with its concurrency (README, Reliability)" >&2
    export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
fi
unset lib ATTENZIONE_JEMALLOC
