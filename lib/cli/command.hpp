// cli: the command line of every program, CLI11 behind one door.
//
// CLI11 is header-only: a program that includes it compiles its own copy of
// the parser, about 100 KB of code in each. Command and Option read like
// CLI11's App and Option (same method names) and do nothing but pass the
// calls on; lib/cli/command.cpp is the only file that includes CLI11, and
// add_option is instantiated there, once, for the types the programs bind.
// It is built as libmta-cli.so, shared by the programs that may search for
// libraries (CLI_SHARED_TOOLS in the Makefile), and linked into the others.
// CLI11 still does all the parsing and writes the --help text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#define MTA_CLI_EXPORT __attribute__((visibility("default")))

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace mta::cli {

// The value must lie in [min, max] (CLI::Range of ints).
struct Range {
    int min, max;
    Range(int min_value, int max_value) : min(min_value), max(max_value) {}
};

// The value must be one of these (CLI::IsMember).
struct IsMember {
    std::vector<std::string> values;
    IsMember(std::initializer_list<std::string> v) : values(v) {}
};

// An option of a Command; the Command owns it. Each method returns the
// option, so that calls chain as in CLI11.
class MTA_CLI_EXPORT Option {
public:
    Option* required();
    Option* capture_default_str();  // show the variable's value in --help
    Option* check(const Range& r);
    Option* check(const IsMember& m);
    Option* allow_extra_args(bool allow);
    std::size_t count() const;  // times given on the command line

private:
    friend class Command;
    explicit Option(CLI::Option* o) : o_(o) {}
    CLI::Option* o_;
};

// What a parse refused, with CLI11's message as what().
class MTA_CLI_EXPORT ParseError : public std::runtime_error {
public:
    ParseError(const std::string& message, bool config_file);
    ~ParseError() override;
    // The configuration file could not be read or parsed.
    bool config_file() const { return config_file_; }

private:
    bool config_file_;
};

class MTA_CLI_EXPORT Command {
public:
    // The program name defaults to argv[0] when parsed.
    explicit Command(std::string description = "", std::string name = "");
    ~Command();
    Command(const Command&) = delete;
    Command& operator=(const Command&) = delete;

    // Binds `value`: std::string, bool, int, std::size_t, std::uint64_t or
    // std::vector<std::string> (instantiated in command.cpp, nowhere else).
    template <typename T>
    Option* add_option(std::string name, T& value, std::string description = "");
    Option* add_flag(std::string name, bool& value, std::string description = "");

    // A subcommand, owned by this command; true (operator bool) when given.
    Command* add_subcommand(std::string name, std::string description = "");
    Command* require_subcommand(std::size_t min, std::size_t max);
    explicit operator bool() const;

    // Times the option named (e.g. "--sender") was given.
    std::size_t count(const std::string& name) const;

    // The configuration file option (e.g. "--config"): an INI file whose
    // top-level keys and keys under [section] set this command's options,
    // the section's overriding the top level's; other sections and unknown
    // keys are ignored. The command line overrides the file.
    void set_config(std::string option, std::string default_file, std::string description, std::string section);

    // Parse and set the bound variables; refusals throw ParseError.
    // `args` is in reverse order, as CLI11 takes it.
    void parse(int argc, char** argv);
    void parse(std::vector<std::string> args);
    // The configuration file syntax, from `in`.
    void parse_from_stream(std::istream& in);
    // Forget what a parse left, to parse again.
    void clear();

    // parse(), writing what CLI11 writes (--help on stdout, the mistake on
    // stderr): a value when the program should stop now with that exit
    // code (0 after --help, EX_CONFIG when the configuration file cannot be
    // read or parsed, EX_USAGE for any other mistake).
    std::optional<int> parse_command_line(int argc, char** argv);

private:
    explicit Command(CLI::App* subcommand);
    Option* keep(CLI::Option* o);
    struct Parts;
    std::unique_ptr<Parts> p_;
};

extern template Option* Command::add_option(std::string, std::string&, std::string);
extern template Option* Command::add_option(std::string, bool&, std::string);
extern template Option* Command::add_option(std::string, int&, std::string);
extern template Option* Command::add_option(std::string, std::size_t&, std::string);
extern template Option* Command::add_option(std::string, std::vector<std::string>&, std::string);
#if SIZE_MAX < UINT64_MAX  // elsewhere std::uint64_t is std::size_t
extern template Option* Command::add_option(std::string, std::uint64_t&, std::string);
#endif

}  // namespace mta::cli
