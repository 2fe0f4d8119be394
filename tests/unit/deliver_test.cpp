// Local delivery: aliases, .forward, the virtual table, the resolver,
// Maildir names, mbox quoting, LMTP data, pipe exit codes.
#include "aliases.hpp"
#include "durable.hpp"
#include "forward_file.hpp"
#include "lmtp_client.hpp"
#include "local_delivery.hpp"
#include "local_recipient.hpp"
#include "local_resolver.hpp"
#include "log.hpp"
#include "maildir.hpp"
#include "mbox.hpp"
#include "pipe_delivery.hpp"
#include "receipt_trailer.hpp"
#include "virtual_table.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace mta;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/mta-deliver-unit.XXXXXX";
        path = mkdtemp(t);
    }
    ~TempDir() { [[maybe_unused]] int r = std::system(("rm -rf '" + path + "'").c_str()); }
    std::string write(const std::string& name, const std::string& text, int mode = 0644) const {
        std::string p = path + "/" + name;
        std::ofstream(p) << text;
        ::chmod(p.c_str(), mode_t(mode));
        return p;
    }
};

Address A(const char* s) { return Address::parse(s, Address::Options{false, true, true}); }

std::vector<std::string> describe(const std::vector<local_resolver::Delivery>& ds) {
    std::vector<std::string> out;
    for (auto& d : ds) {
        switch (d.kind) {
        case local_resolver::Kind::maildir: out.push_back("maildir " + d.destination); break;
        case local_resolver::Kind::mbox: out.push_back("mbox " + d.destination); break;
        case local_resolver::Kind::command: out.push_back("command " + d.destination); break;
        case local_resolver::Kind::lmtp: out.push_back("lmtp " + d.destination); break;
        case local_resolver::Kind::forward:
            out.push_back("forward " + d.destination + (d.sender.empty() ? "" : " from " + d.sender));
            break;
        case local_resolver::Kind::failure: out.push_back("failure " + d.failure.enhanced); break;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("aliases(5) syntax: continuation, comments, quotes", "[aliases]") {
    auto es = aliases::parse(
        "# a comment\n"
        "Postmaster: root\n"
        "list: alice,\n"
        "   bob ,\n"
        "  # a comment inside an entry\n"
        "\tcarol\n"
        "\n"
        "\"odd name\": \"|/usr/bin/vacation -a x\", /var/spool/file, /srv/Maildir/\n"
        "joined: a, \\\n"
        "b\n"
        "inc: :include:/etc/mail/list, \\root, error:5.2.2 mailbox full\n",
        "aliases");
    REQUIRE(es.size() == 5);
    CHECK(es[0].name == "postmaster");
    CHECK(es[0].values == std::vector<std::string>{"root"});
    CHECK(es[1].name == "list");
    CHECK(es[1].values == std::vector<std::string>{"alice", "bob", "carol"});
    CHECK(es[1].line == 3);
    CHECK(es[2].name == "odd name");
    CHECK(es[2].values == std::vector<std::string>{"|/usr/bin/vacation -a x", "/var/spool/file", "/srv/Maildir/"});
    CHECK(es[3].values == std::vector<std::string>{"a", "b"});
    CHECK(es[4].values.size() == 3);

    using aliases::Kind;
    CHECK(aliases::classify("|/usr/bin/vacation -a x").kind == Kind::command);
    CHECK(aliases::classify("|/usr/bin/vacation -a x").value == "/usr/bin/vacation -a x");
    CHECK(aliases::classify("/var/spool/file").kind == Kind::file);
    CHECK(aliases::classify("/srv/Maildir/").kind == Kind::maildir);
    CHECK(aliases::classify(":include:/etc/mail/list").kind == Kind::include);
    CHECK(aliases::classify(":include:/etc/mail/list").value == "/etc/mail/list");
    CHECK(aliases::classify("\\root").kind == Kind::mailbox);
    CHECK(aliases::classify("\\root").value == "root");
    CHECK(aliases::classify("bob@example.org").kind == Kind::address);
    CHECK(aliases::classify("bob").kind == Kind::name);
    CHECK(aliases::classify("error:5.2.2 mailbox full").kind == Kind::error);

    CHECK_THROWS_AS(aliases::parse("no colon here\n", "a"), Error);
    CHECK_THROWS_AS(aliases::parse("x:\n", "a"), Error);
    CHECK_THROWS_AS(aliases::parse("x: :include:relative\n", "a"), Error);
    CHECK_THROWS_AS(aliases::parse("x: error:2.0.0 fine\n", "a"), Error);
    CHECK_THROWS_AS(aliases::parse("x: two words\n", "a"), Error);
    try {
        aliases::parse("ok: a\nbad line\n", "/etc/aliases");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("/etc/aliases:2") != std::string::npos);
    }
    // a name given twice adds up
    auto t = aliases::Table::from_text("x: a\nX: b\n", "t");
    REQUIRE(t.find("x"));
    CHECK(t.find("x")->values == std::vector<std::string>{"a", "b"});
}

TEST_CASE("virtual table entries", "[virtual]") {
    auto t = virtual_table::Table::from_text(
        "# comment\n"
        "Alice@Example.org  alice/Maildir/  5000:5001\n"
        "bob@example.org    /srv/bob.mbox\n"
        "@example.net       lmtp:unix:/run/dovecot/lmtp\n"
        "carol@example.org  lmtp:inet:127.0.0.1:24\n",
        "/srv/mail", "virtual");
    auto a = t.find("alice@EXAMPLE.org");
    REQUIRE(a);
    CHECK(a->kind == virtual_table::Kind::maildir);
    CHECK(a->destination == "/srv/mail/alice/Maildir/");
    CHECK(*a->uid == 5000);
    CHECK(*a->gid == 5001);
    CHECK(t.find("bob@example.org")->kind == virtual_table::Kind::mbox);
    CHECK(t.find("bob@example.org")->destination == "/srv/bob.mbox");
    CHECK(t.find("anyone@example.net")->destination == "unix:/run/dovecot/lmtp");
    CHECK(t.find("carol@example.org")->destination == "inet:127.0.0.1:24");
    CHECK_FALSE(t.find("anyone@example.org"));
    CHECK_FALSE(t.find_exact("anyone@example.net"));
    CHECK(t.has_domain("example.net"));
    CHECK_THROWS_AS(virtual_table::Table::from_text("a@b\n", "/", "v"), Error);
    CHECK_THROWS_AS(virtual_table::Table::from_text("a@b x/ 0:0\n", "/", "v"), Error);
    CHECK_THROWS_AS(virtual_table::Table::from_text("a@b ../x/\n", "/", "v"), Error);
    CHECK_THROWS_AS(virtual_table::Table::from_text("a@b lmtp:tcp:x\n", "/", "v"), Error);
    CHECK_THROWS_AS(virtual_table::Table::from_text("nodomain x/\n", "/", "v"), Error);
}

TEST_CASE("alias expansion: recursion, loops, duplicates, owner-, include", "[resolver]") {
    TempDir d;
    std::string inc = d.write("members", "# members\nalice@remote.example\n\"|/bin/cat\"\ncarol\n");
    std::string secret = d.write("secret", "root:x:0:0:::\n", 0600);
    d.write("aliases",
            "postmaster: root\n"
            "staff: alice@remote.example, team\n"
            "team: alice@remote.example, staff, bob@remote.example\n"
            "loop1: loop2\n"
            "loop2: loop1\n"
            "list: :include:" + inc + "\n"
            "owner-list: root\n"
            "files: /tmp/x/file, /tmp/x/Maildir/, |/bin/true\n"
            "carol: carol@remote.example\n"
            "root: \\root, root@remote.example\n"
            "bounce: error:5.2.1 this list is closed\n"
            "deep1: deep2\ndeep2: deep3\ndeep3: deep4\ndeep4: deep5\ndeep5: deep6\ndeep6: deep7\n"
            "deep7: deep8\ndeep8: deep9\ndeep9: deep10\ndeep10: deep11\ndeep11: deep12\ndeep12: deep13\n"
            "deep13: deep14\ndeep14: deep15\ndeep15: deep16\ndeep16: deep17\ndeep17: deep18\n"
            "deep18: deep19\ndeep19: deep20\ndeep20: deep21\ndeep21: deep22\ndeep22: x@remote.example\n"
            "local: staff@local.example\n"
            "secret: :include:" + secret + "\n");
    d.write("virtual", "vic@virt.example  vic/Maildir/  5000:5000\n@lmtp.example lmtp:unix:/run/lmtp\n");
    local_resolver::Config c;
    c.tables = local_recipient::Tables{d.path + "/aliases", d.path + "/virtual", "+", true};
    c.virtual_base = "/srv/mail";
    c.local_domains = {"local.example"};
    c.hostname = "mx.local.example";
    local_resolver::Resolver r(c);

    using V = std::vector<std::string>;
    // staff → team → staff again is a loop: broken, and alice appears once
    CHECK(describe(r.resolve(A("staff@local.example"))) ==
          V{"forward alice@remote.example", "forward bob@remote.example"});
    CHECK(describe(r.resolve(A("loop1@local.example"))).empty());
    // extensions: staff+tag → staff
    CHECK(describe(r.resolve(A("staff+tag@local.example"))).size() == 2);
    // :include: files: addresses allowed, commands refused, owner- sets the sender
    CHECK(describe(r.resolve(A("list@local.example"))) ==
          V{"forward alice@remote.example from owner-list@local.example", "failure 5.7.1",
            "forward carol@remote.example from owner-list@local.example"});
    c.include_commands = true;
    CHECK(describe(local_resolver::Resolver(c).resolve(A("list@local.example")))[1] == "command /bin/cat");
    // \root: the mailbox, no further aliasing
    CHECK(describe(r.resolve(A("root@local.example"))) == V{"mbox /var/mail/root", "forward root@remote.example"});
    CHECK(describe(r.resolve(A("bounce@local.example"))) == V{"failure 5.2.1"});
    // an :include: file its rights (nobody, for a root-owned aliases file) cannot read is refused
    if (::geteuid() == 0) CHECK(describe(r.resolve(A("secret@local.example"))) == V{"failure 4.7.0"});
    CHECK(describe(r.resolve(A("deep1@local.example"))) == V{"failure 5.4.6"});
    // a local-domain address expands again
    CHECK(describe(r.resolve(A("local@local.example"))).size() == 2);
    // files and commands from a root-owned aliases file run as default_privs
    auto files = r.resolve(A("files@local.example"));
    REQUIRE(files.size() == 3);
    CHECK(describe(files) == V{"mbox /tmp/x/file", "maildir /tmp/x/Maildir/", "command /bin/true"});
    if (::geteuid() == 0) CHECK(files[0].owner.user == "nobody");
    // the virtual table comes first, with its owner
    auto v = r.resolve(A("vic+x@virt.example"));
    CHECK(describe(v) == V{"maildir /srv/mail/vic/Maildir/"});
    CHECK(v[0].owner.uid == 5000);
    CHECK(describe(r.resolve(A("anyone@lmtp.example"))) == V{"lmtp unix:/run/lmtp"});
    // system users and the unknown
    CHECK(describe(r.resolve(A("nobody@local.example"))) == V{"mbox /var/mail/nobody"});
    CHECK(describe(r.resolve(A("no-such-user@local.example"))) == V{"failure 5.1.1"});
    c.home_mailbox = "Maildir/";
    CHECK(describe(local_resolver::Resolver(c).resolve(A("nobody"))) == V{"maildir /nonexistent/Maildir/"});

    // exists() agrees with the resolver
    auto t = c.tables;
    for (const char* s : {"staff@local.example", "STAFF+x@local.example", "vic@virt.example", "x@lmtp.example",
                          "nobody@local.example", "postmaster@local.example", "PostMaster"})
        CHECK(local_recipient::exists(t, A(s)));
    for (const char* s : {"no-such-user@local.example", "someone@virt.example"}) {
        CHECK_FALSE(local_recipient::exists(t, A(s)));
        CHECK(describe(r.resolve(A(s))) == V{"failure 5.1.1"});
    }
    // postmaster resolves even without an alias
    d.write("aliases", "x: y\n");
    CHECK(describe(local_resolver::Resolver(c).resolve(A("Postmaster@local.example"))) ==
          V{"maildir /root/Maildir/"});
}

TEST_CASE(".forward is used only when safe", "[forward]") {
    TempDir d;
    uid_t me = ::geteuid();
    CHECK_FALSE(forward_file::load(d.path, me).forward);  // no file
    CHECK_FALSE(forward_file::load(d.path, me).refused);
    std::string f = d.write(".forward", "# to the list\nalice@example.org, \"|/usr/bin/procmail\"\n\\me\n", 0644);
    auto r = forward_file::load(d.path, me);
    REQUIRE(r.forward);
    CHECK(r.forward->values == std::vector<std::string>{"alice@example.org", "|/usr/bin/procmail", "\\me"});
    ::chmod(f.c_str(), 0666);
    r = forward_file::load(d.path, me);
    REQUIRE(r.refused);
    CHECK(r.refused->outcome == Outcome::temporary);
    CHECK(r.refused->text.find("writable") != std::string::npos);
    ::chmod(f.c_str(), 0620);
    CHECK(forward_file::load(d.path, me).refused);
    ::chmod(f.c_str(), 0600);
    CHECK_FALSE(forward_file::load(d.path, me + 1).forward);  // someone else's file
    CHECK(forward_file::load(d.path, me + 1).refused);
    // a symbolic link is refused
    ::unlink(f.c_str());
    std::string other = d.write("other", "alice@example.org\n", 0600);
    REQUIRE(::symlink(other.c_str(), f.c_str()) == 0);
    CHECK(forward_file::load(d.path, me).refused);
    ::unlink(f.c_str());
    // :include: is not allowed; an empty file means the mailbox
    d.write(".forward", ":include:/etc/x\n", 0600);
    CHECK(forward_file::load(d.path, me).refused);
    d.write(".forward", "", 0600);
    r = forward_file::load(d.path, me);
    REQUIRE(r.forward);
    CHECK(r.forward->values.empty());
    // a world-writable home directory makes any .forward unsafe
    ::chmod(d.path.c_str(), 0777);
    CHECK(forward_file::load(d.path, me).refused);
    ::chmod(d.path.c_str(), 0700);
}

TEST_CASE("Maildir names and sizes", "[maildir]") {
    CHECK(maildir::escape_host("mx.example.org") == "mx.example.org");
    CHECK(maildir::escape_host("a/b:c") == "a\\057b\\072c");
    CHECK(maildir::unique_name(1700000000, 42, 123, 7, "h:x") == "1700000000.M42P123Q7.h\\072x");
    CHECK(maildir::virtual_size("a\nb\n") == 6);
    CHECK(maildir::virtual_size("a\r\nb") == 4);
    CHECK(maildir::size_suffix("Subject: x\n\nbody\n") == ",S=17,W=20");
    CHECK(maildir::virtual_size("") == 0);
    CHECK(maildir::virtual_size("\n") == 2);
    CHECK(maildir::virtual_size("\r\n") == 2);
    CHECK(maildir::virtual_size("\n\n\r\nx\r") == 8);

    TempDir d;
    std::string md = d.path + "/deep/Maildir/";
    std::string path = maildir::deliver(md, "Return-Path: <a@b>\n", "Subject: x\n\nbody", "host/1:2");
    std::ifstream in(path);
    std::string got((std::istreambuf_iterator<char>(in)), {});
    CHECK(got == "Return-Path: <a@b>\nSubject: x\n\nbody");
    CHECK(path.find("/new/") != std::string::npos);
    CHECK(path.find(".host\\0571\\0722,S=35,W=38") != std::string::npos);
    struct stat st;
    REQUIRE(::stat((d.path + "/deep/Maildir/cur").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    // tmp/ is empty again
    CHECK(std::system(("test -z \"$(ls -A '" + d.path + "/deep/Maildir/tmp')\"").c_str()) == 0);
    // the sizes count prefix and message as one: a CR ending the prefix
    // and an LF starting the message are one CRLF
    for (auto [prefix, message] : {std::pair<std::string, std::string>{"P\r", "\nM\n"}, {"P\n", "\nM"}, {"", "\n"}}) {
        std::string p = maildir::deliver(md, prefix, message, "h");
        CHECK(p.substr(p.find(",S=")) == maildir::size_suffix(prefix + message));
    }
    // two deliveries never share a name
    CHECK(maildir::deliver(md, "", "x", "h") != maildir::deliver(md, "", "x", "h"));
    // a symbolic link for new/ is refused
    std::string m2 = d.path + "/m2";
    maildir::deliver(m2 + "/", "", "x", "h");
    REQUIRE(std::system(("mv '" + m2 + "/new' '" + m2 + "/elsewhere' && ln -s elsewhere '" + m2 + "/new'").c_str()) == 0);
    CHECK_THROWS_AS(maildir::deliver(m2 + "/", "", "x", "h"), Error);
}

TEST_CASE("mbox: From_ lines and >From quoting", "[mbox]") {
    CHECK(mbox::quote("From me\nx\n>From you\nFromage\n") == ">From me\nx\n>>From you\nFromage\n\n");
    CHECK(mbox::quote("no newline") == "no newline\n\n");
    CHECK(mbox::from_line("", 0).rfind("From MAILER-DAEMON ", 0) == 0);
    CHECK(mbox::from_line("a b@c", 0).rfind("From a_b@c ", 0) == 0);
    CHECK(mbox::from_line("a@b", 0).back() == '\n');

    TempDir d;
    std::string p = d.path + "/box";
    mbox::Options o;
    mbox::deliver(p, "From a@b Thu Jan  1 00:00:00 1970\n", "Delivered-To: x@y\n", "Subject: 1\n\nFrom x\n", o);
    mbox::deliver(p, "From a@b Thu Jan  1 00:00:00 1970\n", "", "Subject: 2\n\nbody", o);
    std::ifstream in(p);
    std::string got((std::istreambuf_iterator<char>(in)), {});
    CHECK(got ==
          "From a@b Thu Jan  1 00:00:00 1970\nDelivered-To: x@y\nSubject: 1\n\n>From x\n\n"
          "From a@b Thu Jan  1 00:00:00 1970\nSubject: 2\n\nbody\n\n");
    // a hard link or a symbolic link is refused, the file unchanged
    std::string hl = d.path + "/hard";
    REQUIRE(::link(p.c_str(), hl.c_str()) == 0);
    CHECK_THROWS_AS(mbox::deliver(p, "From x\n", "", "y", o), Error);
    ::unlink(hl.c_str());
    std::string sl = d.path + "/sym";
    REQUIRE(::symlink(p.c_str(), sl.c_str()) == 0);
    CHECK_THROWS_AS(mbox::deliver(sl, "From x\n", "", "y", o), Error);
    std::ifstream in2(p);
    CHECK(std::string((std::istreambuf_iterator<char>(in2)), {}) == got);
    // a FIFO is refused
    std::string fifo = d.path + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_AS(mbox::deliver(fifo, "From x\n", "", "y", o), Error);
    // a dot-lock held by someone else: temporary failure after the timeout
    d.write("box.lock", "1\n");
    o.lock_timeout = 1;
    try {
        mbox::deliver(p, "From x\n", "", "y", o);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.status().outcome == Outcome::temporary);
        CHECK(e.exit_code() == 75);
    }
}

TEST_CASE("LMTP data and pipe exit codes", "[lmtp][pipe]") {
    CHECK(lmtp_client::data_block("a\n.b\n..\nc") == "a\r\n..b\r\n...\r\nc\r\n.\r\n");
    CHECK(lmtp_client::data_block("x\r\n") == "x\r\n.\r\n");
    CHECK(lmtp_client::relay_name("unix:/run/x") == "lmtp:unix:/run/x");

    using pipe_delivery::interpret;
    CHECK(interpret(true, 0, false, "").is_ok());
    CHECK(interpret(true, 75, false, "").outcome == Outcome::temporary);
    CHECK(interpret(true, 1, false, "").outcome == Outcome::permanent);
    CHECK(interpret(true, 1, false, "").enhanced == "5.3.0");
    CHECK(interpret(true, 67, false, "").enhanced == "5.1.1");
    auto s = interpret(true, 1, false, "4.2.2 mailbox full\nmore\n");
    CHECK(s.outcome == Outcome::temporary);
    CHECK(s.enhanced == "4.2.2");
    CHECK(s.text == "mailbox full");
    CHECK(interpret(true, 75, false, "5.7.1 go away").outcome == Outcome::permanent);
    CHECK(interpret(true, 0, false, "5.7.1 ignored on success").is_ok());
    CHECK(interpret(false, 9, false, "").outcome == Outcome::temporary);
    CHECK(interpret(true, 0, true, "").outcome == Outcome::temporary);

    pipe_delivery::Command c;
    c.command = "read l; test \"$l\" = 'P: 1' && test \"$RECIPIENT\" = r@x && test \"$EXTENSION\" = e && exit 75";
    c.recipient = "r@x";
    c.extension = "e";
    c.timeout = 10;
    CHECK(pipe_delivery::run(c, "P: 1\n", "body\n").outcome == Outcome::temporary);
    // a command that closes its output before reading its input gets all of it
    TempDir d;
    c.command = "exec >/dev/null 2>&1; sleep 0.2; cat > '" + d.path + "/in'";
    std::string big(300000, 'x');
    CHECK(pipe_delivery::run(c, "P: 1\n", big).is_ok());
    CHECK(std::system(("test $(wc -c < '" + d.path + "/in') = 300005").c_str()) == 0);
    c.command = "sleep 5";
    c.timeout = 1;
    CHECK(pipe_delivery::run(c, "", "x").text.find("time limit") != std::string::npos);
}

TEST_CASE("loop detection and the summary exit status", "[deliver]") {
    std::string m = "Received: x\nDelivered-To: <Bob@Example.org>\nSubject: y\n\nDelivered-To: carol@example.org\n";
    CHECK(local_delivery::already_delivered_to(m, "bob@example.org"));
    CHECK_FALSE(local_delivery::already_delivered_to(m, "carol@example.org"));  // in the body
    CHECK_FALSE(local_delivery::already_delivered_to(m, "bo@example.org"));

    auto R = [](Status s) { return ResultLine{"-", "a@b", std::move(s), "local"}; };
    CHECK(local_delivery::exit_status({R(Status::ok())}) == 0);
    CHECK(local_delivery::exit_status({R(Status::ok()), R(Status::temporary(451, "4.3.0", "x"))}) == 75);
    CHECK(local_delivery::exit_status({R(Status::temporary(451, "4.3.0", "x")),
                                       R(Status::permanent(550, "5.1.1", "x"))}) == 67);
}

TEST_CASE("--batch: the tables are read once for the batch, broken ones fail each recipient", "[deliver][batch]") {
    log::open("test", "file:/dev/null");
    TempDir d;
    // Commands of a root-owned aliases file run as nobody: it may enter
    // the directory and rewrite the file.
    ::chmod(d.path.c_str(), 0755);
    std::string aliases = d.path + "/aliases";
    std::string later = d.write("aliases.later", "rewrite: |true\n");
    d.write("aliases",
            "rewrite: \"|cat > /dev/null; cp " + later + " " + aliases + "\"\n"
            "kept: |true\n",
            0666);
    ::mkdir((d.path + "/spool").c_str(), 0700);
    ::mkdir((d.path + "/spool/msg").c_str(), 0700);
    Spool spool(d.path + "/spool");
    auto queue = [&] {
        QueueId id = QueueId::generate();
        std::ofstream(spool.path("msg", id)) << "Subject: batch\n\nx\n";
        return id.str();
    };
    local_delivery::Options o;
    o.resolver.tables = local_recipient::Tables{aliases, d.path + "/virtual", "+", false};
    o.resolver.local_domains = {"local.example"};
    o.resolver.hostname = "mx.local.example";
    std::vector<BatchJob> jobs{{queue(), "a@example.org", {"rewrite@local.example"}},
                               {queue(), "a@example.org", {"kept@local.example"}}};
    auto run = [&] {
        std::vector<std::string> out;
        local_delivery::deliver_batch(
            o, spool, jobs,
            [&](const ResultLine& r) {
                out.push_back(r.recipient + " " + std::string(to_string(r.status.outcome)) + " " + r.status.enhanced);
            },
            [&] { out.push_back("(group reported)"); });
        return out;
    };
    using V = std::vector<std::string>;
    // The first delivery drops "kept" from the file; the second job still
    // resolves it from the tables as the batch found them. Both jobs make
    // one group, its end told after its reports.
    CHECK(run() == V{"rewrite@local.example ok 2.0.0", "kept@local.example ok 2.0.0", "(group reported)"});
    // ... and a later batch reads the file anew: "kept" is gone.
    CHECK(run() == V{"rewrite@local.example ok 2.0.0", "kept@local.example permanent 5.1.1", "(group reported)"});

    // Unreadable tables: a temporary failure for each recipient, and a
    // message that cannot be read still fails with its own status.
    ::unlink(aliases.c_str());
    ::mkdir(aliases.c_str(), 0755);
    jobs.push_back({QueueId::generate().str(), "a@example.org", {"kept@local.example"}});
    CHECK(run() == V{"rewrite@local.example temporary 4.3.5", "kept@local.example temporary 4.3.5",
                     "kept@local.example temporary 4.3.0", "(group reported)"});
}

TEST_CASE("a queued message's arrival time comes from its id, without the envelope", "[deliver]") {
    TempDir d;
    ::mkdir((d.path + "/msg").c_str(), 0700);
    Spool spool(d.path);
    std::time_t arrival = 1763818000;
    QueueId id = QueueId::from_parts(std::uint64_t(arrival) * 1000000 + 654321, 12345);
    std::ofstream(spool.path("msg", id)) << "Subject: x\n\ny\n";
    auto m = local_delivery::spooled(spool, id);
    CHECK(m.arrival == arrival);
    CHECK(m.queue_id == id.str());
    CHECK(m.data == "Subject: x\n\ny\n");
    CHECK(m.sender.is_null());
}

TEST_CASE("Maildir sizes counted in pieces are those of the joined octets", "[maildir]") {
    std::string text = "a\r\n\nb\r\r\n\n\rx\n\n";
    for (size_t cut1 = 0; cut1 <= text.size(); ++cut1)
        for (size_t cut2 = cut1; cut2 <= text.size(); ++cut2) {
            maildir::VirtualSize v;
            v.add(text.substr(0, cut1));
            v.add(text.substr(cut1, cut2 - cut1));
            v.add(text.substr(cut2));
            CHECK(v.value() == maildir::virtual_size(text));
            CHECK(v.suffix() == maildir::size_suffix(text));
        }
}

TEST_CASE("a Maildir delivery from a file is the delivery of its octets", "[maildir]") {
    TempDir d;
    // Larger than one piece of durable::copy_file, with a CR LF across
    // the edge between pieces, and a tail that is not the message's.
    std::string message = "Subject: big\n\n" + std::string(65536 - 15, 'x') + "\r\n" + std::string(70000, 'y') + "\n";
    std::string file = d.write("content", message + "not the message");
    durable::Fd owned(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(owned);
    int fd = owned.get();
    std::string from_file = maildir::deliver(d.path + "/md/", "Return-Path: <a@b>\r", fd, message.size(), "h");
    std::string from_memory = maildir::deliver(d.path + "/md2/", "Return-Path: <a@b>\r", message, "h");
    auto read = [](const std::string& p) {
        std::ifstream in(p);
        return std::string((std::istreambuf_iterator<char>(in)), {});
    };
    CHECK(read(from_file) == "Return-Path: <a@b>\r" + message);
    CHECK(from_file.substr(from_file.find(",S=")) == from_memory.substr(from_memory.find(",S=")));
    // A file shorter than the size it was given for: refused, nothing in new/.
    CHECK_THROWS_AS(maildir::deliver(d.path + "/md3/", "", fd, message.size() + 100, "h"), Error);
    CHECK(std::system(("test -z \"$(find '" + d.path + "/md3/new' '" + d.path + "/md3/tmp' -type f)\"").c_str()) == 0);
}

TEST_CASE("a pending Maildir delivery is in new/ only once committed, and leaves nothing in tmp/", "[maildir]") {
    TempDir d;
    std::string md = d.path + "/md";
    auto files = [&](const std::string& sub) {
        std::string out;
        for (auto& e : std::filesystem::directory_iterator(md + "/" + sub)) out += e.path().filename().string() + " ";
        return out;
    };
    {
        maildir::PendingDelivery dropped(md, "P: 1\n", "Subject: a\n\nx\n", -1, 0, "h");
        CHECK(files("tmp") != "");
        CHECK(files("new") == "");
    }
    CHECK(files("tmp") == "");  // destroyed uncommitted: its tmp/ file removed
    CHECK(files("new") == "");
    maildir::PendingDelivery kept(md, "P: 1\n", "Subject: b\n\nx\n", -1, 0, "h");
    durable::sync_together({kept.target()});
    std::string path = kept.commit();
    kept.sync_new();
    CHECK(files("tmp") == "");
    CHECK(files("new") == path.substr(path.rfind('/') + 1) + " ");
    std::ifstream in(path);
    CHECK(std::string((std::istreambuf_iterator<char>(in)), {}) == "P: 1\nSubject: b\n\nx\n");
}

TEST_CASE("a large queued message stays in its file, with its header section read", "[deliver]") {
    log::open("test", "file:/dev/null");
    TempDir d;
    ::chmod(d.path.c_str(), 0755);
    ::mkdir((d.path + "/spool").c_str(), 0700);
    ::mkdir((d.path + "/spool/msg").c_str(), 0700);
    Spool spool(d.path + "/spool");
    auto queue = [&](const std::string& header, const std::string& body) {
        QueueId id = QueueId::generate();
        Envelope e;
        e.id = id;
        e.sender = A("a@example.org");
        e.size = header.size() + 1 + body.size() + 1;
        std::string content = header + "\n" + body + "\n";
        Xxh64 sum;
        sum.update(content);
        std::ofstream(spool.path("msg", id)) << content << receipt_trailer::make(e, sum);
        return id;
    };
    std::string body(local_delivery::in_memory_limit, 'z');
    QueueId id = queue("Subject: large\nDelivered-To: loop@local.example\n", body);
    auto m = local_delivery::spooled(spool, id);
    REQUIRE(m.file);
    CHECK(m.file->size == 48 + body.size() + 2);
    CHECK(m.data == "Subject: large\nDelivered-To: loop@local.example\n\n");
    std::string storage;
    CHECK(local_delivery::whole(m, storage) == "Subject: large\nDelivered-To: loop@local.example\n\n" + body + "\n");
    // A header section longer than the part read for the loop check ends
    // at the last whole line read: no address is cut short.
    std::string filler = "X-Filler: " + std::string(1000, 'f') + "\n";
    std::string header;
    size_t at = (1u << 20) - 19;  // "Delivered-To: a@b.c" before the 1 MiB mark, "o" after it
    while (header.size() + filler.size() + 40 < at) header += filler;
    header += "X-Pad: " + std::string(at - header.size() - 8, 'p') + "\n";
    header += "Delivered-To: a@b.co\n";
    auto cut = local_delivery::spooled(spool, queue(header, body));
    REQUIRE(cut.file);
    CHECK(cut.data.size() < (1u << 20));
    CHECK(cut.data.back() == '\n');
    CHECK_FALSE(local_delivery::already_delivered_to(cut.data, "a@b.c"));
    // At the limit a message is read whole.
    auto small = local_delivery::spooled(spool, queue("S:", std::string(local_delivery::in_memory_limit - 4, 'z')));
    CHECK_FALSE(small.file);
    CHECK(small.data.size() == local_delivery::in_memory_limit);

    // Delivered by a batch: into the Maildir whole; the loop found in the header.
    // Run by root, the delivery runs as the table's owner or nobody: any user may make the Maildir.
    ::mkdir((d.path + "/mail").c_str(), 0777);
    ::chmod((d.path + "/mail").c_str(), 0777);
    std::string md = d.path + "/mail/md/";
    d.write("virtual", "box@local.example " + md + "\nloop@local.example " + md + "\n");
    local_delivery::Options o;
    o.resolver.tables = local_recipient::Tables{d.path + "/aliases", d.path + "/virtual", "+", false};
    o.resolver.local_domains = {"local.example"};
    o.resolver.hostname = "mx.local.example";
    std::vector<BatchJob> jobs{{id.str(), "a@example.org", {"box@local.example", "loop@local.example"}}};
    std::vector<std::string> out;
    local_delivery::deliver_batch(
        o, spool, jobs,
        [&](const ResultLine& r) {
            out.push_back(r.recipient + " " + std::string(to_string(r.status.outcome)) + " " + r.status.enhanced);
            UNSCOPED_INFO(r.status.text);  // why, when it fails
        },
        [] {});
    CHECK(out == std::vector<std::string>{"box@local.example ok 2.0.0", "loop@local.example permanent 5.4.6"});
    std::string got;
    REQUIRE(std::system(("ls '" + md + "new' > '" + d.path + "/list'").c_str()) == 0);
    std::ifstream list(d.path + "/list");
    std::getline(list, got);
    std::ifstream in(md + "new/" + got);
    std::string delivered((std::istreambuf_iterator<char>(in)), {});
    CHECK(delivered == "Return-Path: <a@example.org>\nDelivered-To: box@local.example\n" +
                           std::string(local_delivery::whole(m, storage)));
}
