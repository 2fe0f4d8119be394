# Every option a tool accepts (its --help, and each subcommand's) appears in
# its man page.
. "$(dirname "$0")/lib.sh"
for page in "$top"/man/*.8; do
	tool=$(basename "$page" .8)
	[ -x "$bin/$tool" ] || continue
	"$bin/$tool" --help > "$T/help" 2>&1 || continue
	# subcommands, as CLI11 lists them under "Subcommands:"
	subs=$(sed -n '/^Subcommands:/,/^$/p' "$T/help" | awk 'NR>1 && NF {print $1}')
	for s in $subs; do "$bin/$tool" "$s" --help >> "$T/help" 2>&1; done
	mandoc -Tascii "$page" | col -b > "$T/page"
	missing=
	for opt in $(grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' "$T/help" | tr -d ' ,' | sort -u); do
		[ "$opt" = "--help" ] && continue
		grep -qe "$opt" "$T/page" || missing="$missing $opt"
	done
	if [ -z "$missing" ]; then ok "man: $tool.8 documents every option of $tool --help"
	else not_ok "man: $tool.8 lacks:$missing"; fi
	for s in $subs; do
		grep -qw "$s" "$T/page" || not_ok "man: $tool.8 lacks the subcommand $s"
	done
done
