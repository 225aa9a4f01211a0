# Shared by the stand-in tools. A stand-in "disk image" is a small text file:
#
#     fake-disk-image
#     format=raw
#     size=4096M
#
# and a compressed one is the same with a first line `xz`. Every tool appends the command it
# was given to tools.log (in the directory it runs in) before doing anything, so a test can
# compare what was asked with what was planned, and refuses what the real tool cannot do.

log() { printf '%s\n' "$*" >> tools.log; }

fail() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# A size written with M or G, in MiB.
mib() {
    case $1 in
        *G) echo $(( ${1%G} * 1024 )) ;;
        *M) echo "${1%M}" ;;
        *) fail "size $1: write it with M or G" ;;
    esac
}

compressed() { [ "$(head -n 1 "$1")" = xz ]; }

# Fails unless $1 is an uncompressed image.
image() {
    [ -f "$1" ] || fail "$1: no such file"
    [ "$(head -n 1 "$1")" = fake-disk-image ] || fail "$1 is not an uncompressed disk image"
}

field() { sed -n "s/^$2=//p" "$1"; }

# write FILE FORMAT SIZE_MIB
write() { printf 'fake-disk-image\nformat=%s\nsize=%sM\n' "$2" "$3" > "$1"; }
