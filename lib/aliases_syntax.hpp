// aliases_syntax: the syntax check newaliases(8) runs on the aliases file.
//
// The aliases file is read as text by local delivery; nothing is compiled.
// newaliases only reports what would not parse: logical lines (a line that
// starts with white space, or follows a backslash at the end of a line,
// continues the previous one; '#' lines and blank lines are skipped) of the
// form `name: value, value...`, the name possibly quoted, at least one value,
// quotes closed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mta {

struct AliasesCheck {
    size_t entries = 0;               // aliases defined
    std::vector<std::string> errors;  // "file:line: what is wrong"
};

AliasesCheck check_aliases_text(std::string_view text, std::string_view file);
// Reads and checks a file; a missing file is an empty table.
// Throws Error (config) when it cannot be read.
AliasesCheck check_aliases_file(const std::string& path);

}  // namespace mta
