# Fuzz smoke: build every libFuzzer target (fuzz/*.cpp) and run each for a
# few seconds from its seed corpus. `make fuzz` runs them for longer.
. "$(dirname "$0")/lib.sh"
cd "$top" || exit 1
if ! command -v clang++ >/dev/null 2>&1; then
	not_ok "fuzz: clang++ is not installed"
	exit 0
fi
if ! make -s fuzz-build > "$T/build.log" 2>&1; then
	not_ok "fuzz: targets build"
	tail -30 "$T/build.log"
	exit 0
fi
ok "fuzz: targets build"
BUILD=build-fuzz scripts/fuzz-run "${FUZZ_SMOKE_SECONDS:-5}" > "$T/all.log" 2>&1
for src in fuzz/*.cpp; do
	name=$(basename "$src" .cpp)
	line=$(grep "^fuzz $name:" "$T/all.log")
	case "$line" in
	*"no crash"*) ok "$line" ;;
	*) not_ok "fuzz $name: ${line:-did not run}"; grep -A5 "^fuzz $name:" "$T/all.log" ;;
	esac
done
