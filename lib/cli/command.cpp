#include "cli/command.hpp"

#include "status.hpp"

#include <CLI/CLI.hpp>
#include <type_traits>

namespace mta::cli {

namespace {

// CLI11's INI reader, restricted to the top-level keys and one section.
class SectionedConfig : public CLI::ConfigINI {
public:
    explicit SectionedConfig(std::string section) : section_(std::move(section)) {}

    std::vector<CLI::ConfigItem> from_config(std::istream& in) const override {
        std::vector<CLI::ConfigItem> shared, own;
        for (auto& item : CLI::ConfigINI::from_config(in)) {
            if (item.parents.empty()) {
                shared.push_back(item);
            } else if (item.parents.size() == 1 && item.parents[0] == section_) {
                item.parents.clear();
                own.push_back(item);
            }
        }
        std::vector<CLI::ConfigItem> out;
        for (auto& s : shared) {
            bool overridden = false;
            for (auto& o : own) overridden = overridden || o.name == s.name;
            if (!overridden) out.push_back(s);
        }
        out.insert(out.end(), own.begin(), own.end());
        return out;
    }

private:
    std::string section_;
};

bool about_config_file(const CLI::Error& e) {
    return dynamic_cast<const CLI::ConfigError*>(&e) || dynamic_cast<const CLI::FileError*>(&e);
}

// Runs a CLI11 parse; its refusals become ParseError.
template <typename F>
void translating_errors(F&& parse) {
    try {
        parse();
    } catch (const CLI::Error& e) {
        throw ParseError(e.what(), about_config_file(e));
    }
}

}  // namespace

struct Command::Parts {
    std::unique_ptr<CLI::App> own;  // empty for a subcommand: its parent's App owns it
    CLI::App* app;
    std::vector<std::unique_ptr<Option>> options;
    std::vector<std::unique_ptr<Command>> subcommands;
};

Option* Option::required() {
    o_->required();
    return this;
}

Option* Option::capture_default_str() {
    o_->capture_default_str();
    return this;
}

Option* Option::check(const Range& r) {
    o_->check(CLI::Range(r.min, r.max));
    return this;
}

Option* Option::check(const IsMember& m) {
    o_->check(CLI::IsMember(m.values));
    return this;
}

Option* Option::allow_extra_args(bool allow) {
    o_->allow_extra_args(allow);
    return this;
}

std::size_t Option::count() const { return o_->count(); }

ParseError::ParseError(const std::string& message, bool config_file)
    : std::runtime_error(message), config_file_(config_file) {}

ParseError::~ParseError() = default;

Command::Command(std::string description, std::string name) : p_(new Parts) {
    p_->own = std::make_unique<CLI::App>(std::move(description), std::move(name));
    p_->app = p_->own.get();
}

Command::Command(CLI::App* subcommand) : p_(new Parts) { p_->app = subcommand; }

Command::~Command() = default;

Option* Command::keep(CLI::Option* o) {
    p_->options.emplace_back(new Option(o));
    return p_->options.back().get();
}

template <typename T>
Option* Command::add_option(std::string name, T& value, std::string description) {
    return keep(p_->app->add_option(std::move(name), value, std::move(description)));
}

template Option* Command::add_option(std::string, std::string&, std::string);
template Option* Command::add_option(std::string, bool&, std::string);
template Option* Command::add_option(std::string, int&, std::string);
template Option* Command::add_option(std::string, std::size_t&, std::string);
template Option* Command::add_option(std::string, std::vector<std::string>&, std::string);
#if SIZE_MAX < UINT64_MAX
template Option* Command::add_option(std::string, std::uint64_t&, std::string);
#else
static_assert(std::is_same_v<std::uint64_t, std::size_t>, "std::uint64_t needs an add_option of its own");
#endif

Option* Command::add_flag(std::string name, bool& value, std::string description) {
    return keep(p_->app->add_flag(std::move(name), value, std::move(description)));
}

Command* Command::add_subcommand(std::string name, std::string description) {
    CLI::App* sub = p_->app->add_subcommand(std::move(name), std::move(description));
    p_->subcommands.emplace_back(new Command(sub));
    return p_->subcommands.back().get();
}

Command* Command::require_subcommand(std::size_t min, std::size_t max) {
    p_->app->require_subcommand(min, max);
    return this;
}

Command::operator bool() const { return bool(*p_->app); }

std::size_t Command::count(const std::string& name) const { return p_->app->count(name); }

void Command::set_config(std::string option, std::string default_file, std::string description,
                         std::string section) {
    p_->app->config_formatter(std::make_shared<SectionedConfig>(std::move(section)));
    p_->app->allow_config_extras(CLI::config_extras_mode::ignore);
    p_->app->set_config(std::move(option), std::move(default_file), description);
}

void Command::parse(int argc, char** argv) {
    translating_errors([&] { p_->app->parse(argc, argv); });
}

void Command::parse(std::vector<std::string> args) {
    translating_errors([&] { p_->app->parse(std::move(args)); });
}

void Command::parse_from_stream(std::istream& in) {
    translating_errors([&] { p_->app->parse_from_stream(in); });
}

void Command::clear() { p_->app->clear(); }

std::optional<int> Command::parse_command_line(int argc, char** argv) {
    try {
        p_->app->parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        if (p_->app->exit(e) == 0) return 0;
        return about_config_file(e) ? ex::config : ex::usage;
    }
}

}  // namespace mta::cli
