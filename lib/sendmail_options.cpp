#include "sendmail_options.hpp"

#include "ascii.hpp"
#include "status.hpp"


namespace mta::sendmail {

namespace {

// Flags that take no argument and change nothing: -m (metoo), -n (no
// aliasing), -U (initial submission), -G (gateway), -c (hold expensive),
// -s (save From lines), -x, -E, -J (qmail), -D is Sendmail's with an argument.
constexpr std::string_view ignored_plain = "mnUGcsxEJ";
// Flags that take an argument and change nothing: -A (c|m), -d (debug),
// -D (debug log), -e (error mode), -h (hop count), -L (syslog tag), -M
// (macro), -p (protocol), -Q (quarantine), -X (traffic log).
constexpr std::string_view ignored_arg = "AdDehLMpQX";
// Flags whose argument we use.
constexpr std::string_view used_arg = "bBCfFrNRVoO";

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

[[noreturn]] void usage(std::string text) { throw Error::usage(std::move(text)); }

// "true", "T", "yes", "" → true; "false", "F", "no" → false.
bool boolean(std::string_view v, std::string_view flag) {
    std::string l = ascii::lower(trim(v));
    if (l.empty() || l == "t" || l == "true" || l == "y" || l == "yes" || l == "on") return true;
    if (l == "f" || l == "false" || l == "n" || l == "no" || l == "off") return false;
    usage("option " + std::string(flag) + " needs true or false, not '" + std::string(v) + "'");
}

std::string parse_notify(std::string_view v) {
    std::string out;
    bool never = false;
    size_t n = 0;
    while (true) {
        auto comma = v.find(',');
        std::string word = ascii::lower(trim(v.substr(0, comma)));
        if (word == "never") {
            never = true;
        } else if (word == "success" || word == "failure" || word == "delay") {
            if (!out.empty()) out += ',';
            out += ascii::upper(word);
        } else {
            usage("-N needs never or a list of success, failure, delay; not '" + std::string(v) + "'");
        }
        ++n;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    if (never && n > 1) usage("-N never cannot be combined with other values");
    return never ? "NEVER" : out;
}

std::string parse_envid(std::string_view v) {
    if (v.empty() || v.size() > 100) usage("-V needs an envelope id of 1 to 100 characters");
    for (unsigned char c : v)
        if (c < 33 || c > 126) usage("-V: the envelope id must be printable ASCII without spaces");
    return std::string(v);
}

void set_mode(Options& o, char m, std::string_view flag) {
    switch (m) {
    case 'm': o.mode = Mode::submit; return;
    case 'q': o.mode = Mode::submit; return;  // dma: queue only; we never deliver inline
    case 's': o.mode = Mode::smtp; return;
    case 'p': o.mode = Mode::list; return;
    case 'i': o.mode = Mode::aliases; return;
    case 'v': o.mode = Mode::verify; return;
    case 'd':
    case 'D': usage(std::string(flag) + ": daemon mode is not part of sendmail; run mta-recv --listen");
    case 'a':
    case 'h':
    case 'H':
    case 'P':
    case 't': usage(std::string(flag) + " is not supported");
    default: usage("unknown mode " + std::string(flag));
    }
}

void set_o(Options& o, std::string_view v, std::string_view flag) {
    if (v.empty()) usage("option -o needs an argument");
    if (v[0] == 'i') {
        o.ignore_dots = boolean(v.substr(1), flag);
    } else if (v[0] == 'A') {
        if (v.size() < 2) usage("-oA needs an alias file name");
        o.alias_file = std::string(v.substr(1));
    } else {
        o.ignored.push_back(std::string(flag));
    }
}

void set_long_O(Options& o, std::string_view v, std::string_view flag) {
    auto eq = v.find('=');
    std::string name = ascii::lower(trim(v.substr(0, eq)));
    std::string_view value = eq == std::string_view::npos ? std::string_view() : v.substr(eq + 1);
    if (name == "ignoredots") {
        o.ignore_dots = boolean(value, flag);
    } else if (name == "aliasfile" && !value.empty()) {
        o.alias_file = std::string(trim(value));
    } else {
        o.ignored.push_back(std::string(flag));
    }
}

void apply(Options& o, char f, std::string_view arg, const std::string& flag) {
    switch (f) {
    case 'b':
        if (arg.size() != 1) usage("unknown mode -b" + std::string(arg));
        set_mode(o, arg[0], flag);
        return;
    case 'B': {
        std::string b = ascii::upper(arg);
        if (b != "7BIT" && b != "8BITMIME") usage("-B needs 7BIT or 8BITMIME, not '" + std::string(arg) + "'");
        o.body = b;
        return;
    }
    case 'C': o.config = std::string(arg); return;
    case 'f':
    case 'r': o.sender = std::string(arg); return;
    case 'F': o.full_name = std::string(arg); return;
    case 'N': o.notify = parse_notify(arg); return;
    case 'R': {
        std::string r = ascii::upper(trim(arg));
        if (r != "FULL" && r != "HDRS") usage("-R needs full or hdrs, not '" + std::string(arg) + "'");
        o.ret = r;
        return;
    }
    case 'V': o.envid = parse_envid(arg); return;
    case 'o': set_o(o, arg, flag); return;
    case 'O': set_long_O(o, arg, flag); return;
    }
}

}  // namespace

Mode mode_for_program(std::string_view argv0) {
    auto slash = argv0.rfind('/');
    std::string_view base = slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
    if (base == "mailq") return Mode::list;
    if (base == "newaliases") return Mode::aliases;
    return Mode::submit;
}

Options parse_options(std::string_view argv0, const std::vector<std::string>& args) {
    Options o;
    o.mode = mode_for_program(argv0);
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            for (++i; i < args.size(); ++i) o.recipients.push_back(args[i]);
            break;
        }
        if (a.size() < 2 || a[0] != '-') {
            if (a == "-") usage("'-' is not an address (put addresses that start with '-' after --)");
            o.recipients.push_back(a);
            continue;
        }
        // A group of flags: -ti, -tfaddr, -oem, -q30m.
        for (size_t k = 1; k < a.size(); ++k) {
            char f = a[k];
            std::string flag = std::string("-") + f;
            if (f == 't') {
                o.extract_recipients = true;
            } else if (f == 'i') {
                o.ignore_dots = true;
            } else if (f == 'v') {
                o.verbose = true;
            } else if (f == 'I') {
                o.mode = Mode::aliases;
            } else if (f == 'q') {
                // Optional argument, attached only: -q, -q30m, -qIid, -qRsite.
                o.mode = Mode::run_queue;
                o.queue_arg = a.substr(k + 1);
                break;
            } else if (ignored_plain.find(f) != std::string_view::npos) {
                o.ignored.push_back(flag);
            } else if (used_arg.find(f) != std::string_view::npos ||
                       ignored_arg.find(f) != std::string_view::npos) {
                std::string arg;
                if (k + 1 < a.size()) {
                    arg = a.substr(k + 1);
                } else if (i + 1 < args.size()) {
                    arg = args[++i];
                } else {
                    usage("option " + flag + " needs an argument");
                }
                flag += arg;
                if (ignored_arg.find(f) != std::string_view::npos) {
                    o.ignored.push_back(flag);
                } else {
                    apply(o, f, arg, flag);
                }
                break;
            } else {
                usage("unknown option " + flag + " (see sendmail(8))");
            }
        }
    }
    switch (o.mode) {
    case Mode::submit:
    case Mode::verify:
        break;
    case Mode::smtp:
    case Mode::list:
    case Mode::aliases:
    case Mode::run_queue:
        if (!o.recipients.empty()) usage("this mode takes no addresses: " + o.recipients.front());
        break;
    }
    return o;
}

}  // namespace mta::sendmail
