// mta-deliver: local delivery of a message, or of a batch of queued ones (see mta-deliver(8)).
#include "cli/command.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "local_delivery.hpp"
#include "log.hpp"
#include "spool.hpp"

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <unistd.h>

using namespace mta;

namespace {

std::string read_stdin() {
    std::string data;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(0, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error::system("read standard input", errno);
        }
        data.append(buf, size_t(n));
    }
    // Mailboxes use LF line endings.
    std::string out;
    out.reserve(data.size());
    for (size_t i = 0; i < data.size(); ++i)
        if (!(data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n')) out += data[i];
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    cli::Command app{"mta-deliver: deliver a message to local mailboxes, programs and LMTP servers"};
    config::Common common;
    std::string sender, id, virtual_base;
    std::vector<std::string> rcpts;
    bool json = false, batch = false;
    local_delivery::Options o;
    auto* from = app.add_option("-f,--from", sender, "envelope sender (\"\" or \"<>\" for none)");
    app.add_option("--id", id, "queue id: read the message from the spool instead of standard input");
    app.add_flag("--batch", batch, "several queued messages: jobs on stdin (ID, sender, recipients)");
    app.add_option("recipients", rcpts, "recipient addresses");
    app.add_flag("--json", json, "print result lines as JSON objects");
    app.add_option("--recipient-delimiter", o.resolver.tables.delimiter, "address extension delimiter")
        ->capture_default_str();
    app.add_option("--system-users", o.resolver.tables.system_users, "deliver to system (passwd) users")
        ->capture_default_str();
    app.add_option("--virtual-base", virtual_base, "base of relative virtual mailbox paths (default: $MTA_ROOT/mail)");
    app.add_option("--mail-spool-directory", o.resolver.mail_spool, "directory of system users' mbox files")
        ->capture_default_str();
    app.add_option("--home-mailbox", o.resolver.home_mailbox, "mailbox relative to the home directory (Maildir/)");
    app.add_option("--default-privs", o.resolver.default_privs, "user for alias deliveries of root-owned files")
        ->capture_default_str();
    app.add_option("--allow-include-commands", o.resolver.include_commands,
                   "allow commands and files in :include: files")
        ->capture_default_str();
    app.add_option("--lock-timeout", o.mbox.lock_timeout, "seconds to wait for an mbox lock")->capture_default_str();
    app.add_option("--command-timeout", o.command_timeout, "seconds a command may run")->capture_default_str();
    app.add_option("--lmtp-timeout", o.lmtp_timeout, "seconds to wait for an LMTP server")->capture_default_str();
    std::string maildir_sync = "filesystem";
    app.add_option("--maildir-sync", maildir_sync,
                   "how a batch syncs Maildirs: filesystem or file")
        ->check(cli::IsMember({"filesystem", "file"}))
        ->capture_default_str();
    config::attach(app, "mta-deliver", common);
    if (auto rc = app.parse_command_line(argc, argv)) return *rc;

    try {
        config::finish(common);
        log::open("mta/local", common.log);
        if (o.mbox.lock_timeout < 0 || o.command_timeout <= 0 || o.lmtp_timeout <= 0)
            throw Error::usage("timeouts must be positive");
        auto t = local_recipient::default_tables(common);
        o.resolver.tables.aliases = t.aliases;
        o.resolver.tables.virtual_table = t.virtual_table;
        o.resolver.virtual_base = virtual_base.empty() ? config::default_root() + "/mail" : virtual_base;
        o.resolver.local_domains = config::local_domains(common);
        o.resolver.hostname = common.hostname;
        o.spool = common.spool;
        o.maildir_sync = maildir_sync == "file" ? durable::GroupSync::file : durable::GroupSync::filesystem;

        // Results are printed as soon as they count (a batch's a group at
        // a time, in one write), so that a batch cut short still reports
        // what it delivered.
        std::vector<ResultLine> results;
        auto report = [&](const ResultLine& r) {
            std::cout << (json ? r.json() : r.str()) << "\n";
            if (!batch) std::cout.flush();
            results.push_back(r);
        };
        if (batch) {
            check_batch_command_line(!rcpts.empty() || !id.empty() || from->count());
            Spool spool(common.spool);
            local_delivery::deliver_batch(o, spool, read_batch_jobs(std::cin, "mta-deliver"), report,
                                          [] { std::cout.flush(); });
        } else {
            if (!from->count()) throw Error::usage("no sender: give -f SENDER (-f '' for the null sender)");
            if (rcpts.empty()) throw Error::usage("no recipients");
            local_delivery::Message m;
            Address from_address = local_delivery::parse_sender(sender);
            std::vector<Address> recipients;
            for (auto& r : rcpts) {
                try {
                    recipients.push_back(local_delivery::parse_recipient(r));
                } catch (const Error& e) {
                    throw Error(e.status(), ex::usage);
                }
            }
            if (!id.empty()) {
                auto qid = QueueId::parse(id);
                if (!qid) throw Error::usage("not a queue id: " + id);
                m = local_delivery::spooled(Spool(common.spool), *qid);
            } else {
                m.data = read_stdin();
                m.queue_id = std::string("-");  // not = "-": a false -Wrestrict of GCC 12 at -O2
                m.arrival = mta::clock::now();
            }
            m.sender = from_address;
            for (auto& r : local_delivery::deliver(o, m, recipients)) report(r);
        }
        if (!std::cout) return ex::ioerr;
        return local_delivery::exit_status(results);
    } catch (const Error& e) {
        std::cerr << "mta-deliver: " << e.status().text << "\n";
        return e.exit_code();
    } catch (const std::exception& e) {
        std::cerr << "mta-deliver: " << e.what() << "\n";
        return ex::software;
    }
}
