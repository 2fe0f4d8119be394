// json: writing JSON lines (--json output of the tools).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mta::json {

// A JSON string literal, quotes included; bytes that are not valid UTF-8
// are written as \u00XX of their Latin-1 value.
std::string quote(std::string_view s);

// Builds one JSON object: Object().add("a", "x").add("n", 3).str()
class Object {
public:
    Object& add(std::string_view key, std::string_view value);
    Object& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    Object& add(std::string_view key, std::int64_t value);
    Object& add(std::string_view key, int value) { return add(key, std::int64_t(value)); }
    Object& add(std::string_view key, bool value);
    // value is already JSON (an array or object)
    Object& add_raw(std::string_view key, std::string_view json);
    std::string str() const { return body_ + "}"; }

private:
    void key(std::string_view k);
    std::string body_ = "{";
};

}  // namespace mta::json
