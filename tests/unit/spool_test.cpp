#include "clock.hpp"
#include "durable.hpp"
#include "filesystem_sync.hpp"
#include "queue_control.hpp"
#include "spool.hpp"
#include "status.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <fstream>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace mta;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/mta-spool-test.XXXXXX";
        path = mkdtemp(t);
    }
    ~TempDir() { [[maybe_unused]] int r = std::system(("rm -rf " + path).c_str()); }
};

std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int count_entries(const std::string& dir) {
    int n = 0;
    for (auto& s : {std::string("ls -A ") + dir + " | wc -l"}) {
        FILE* p = popen(s.c_str(), "r");
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

Envelope envelope_for(int i) {
    Envelope e;
    e.sender = Address::parse("alice@example.org", {});
    e.recipients.emplace_back();
    e.recipients.back().address = Address::parse("rcpt" + std::to_string(i) + "@example.net", {});
    e.recipients.emplace_back();
    e.recipients.back().address = Address::parse("other@example.net", {});
    e.recipients.back().notify = "FAILURE,DELAY";
    return e;
}

// A message whose content proves it is complete: numbered, long, with an
// end marker.
std::string content_for(int i) {
    std::string s = "Subject: message " + std::to_string(i) + "\n\n";
    for (int k = 0; k < 3000; ++k) s += "line " + std::to_string(k) + " of message " + std::to_string(i) + "\n";
    return s + "END " + std::to_string(i) + "\n";
}

QueueId commit_one(const Spool& s, int i) {
    auto in = s.receive();
    std::string c = content_for(i);
    // in pieces, as a network reader would
    for (size_t off = 0; off < c.size(); off += 7000) in.write(std::string_view(c).substr(off, 7000));
    QueueId id = in.id();
    in.commit(envelope_for(i));
    return id;
}

}  // namespace

TEST_CASE("queue ids are unique, fixed-width and sort by arrival", "[queue_id]") {
    std::set<std::string> seen;
    std::string prev;
    for (int i = 0; i < 2000; ++i) {
        auto id = QueueId::generate();
        REQUIRE(id.str().size() == QueueId::length);
        REQUIRE(seen.insert(id.str()).second);
        REQUIRE(QueueId::parse(id.str()));
        REQUIRE(id.str().substr(0, 11) >= prev);  // time part never goes back
        prev = id.str().substr(0, 11);
    }
    auto a = QueueId::from_parts(1000000, 5), b = QueueId::from_parts(1000001, 0);
    CHECK(a < b);
    CHECK(a.arrival_micros() == 1000000);
    CHECK_FALSE(QueueId::parse("short"));
    CHECK_FALSE(QueueId::parse("0123456789ABCDEFGHI"));  // I is not in the alphabet
    CHECK_FALSE(QueueId::parse("../../etc/passwd12345"));
}

TEST_CASE("envelopes round-trip and malformed ones are refused", "[envelope]") {
    Envelope e = envelope_for(1);
    e.id = QueueId::from_parts(123456789, 42);
    e.arrival = 1700000000;
    e.size = 1234;
    e.body = "8BITMIME";
    e.smtputf8 = true;
    e.ret = "HDRS";
    e.envid = "abc+2Bdef";
    e.client = "mail.example.org[192.0.2.1]";
    e.helo = "mail.example.org";
    e.protocol = "ESMTPS";
    e.next_attempt = 1700000300;
    e.attempts = 2;
    e.recipients[0].state = RcptState::sent;
    e.recipients[0].last = "250 2.0.0 Ok\r\ninjected line";
    e.recipients[0].orcpt = "rfc822;rcpt1@example.net";
    e.recipients[1].state = RcptState::failed;
    e.recipients[1].attempts = 3;
    e.recipients[1].remote = "mx.example.net[192.0.2.2]:25";
    e.set_extra("warned", "1700000100");
    e.recipients[1].extra.emplace_back("future-field", "kept");
    std::string text = serialize(e);
    CHECK(text.find("\ninjected line") == std::string::npos);  // values stay one line
    Envelope p = parse_envelope(text);
    CHECK(serialize(p) == text);
    CHECK(p.sender.str() == "alice@example.org");
    CHECK(p.recipients.size() == 2);
    CHECK(p.recipients[1].state == RcptState::failed);
    CHECK(p.get_extra("warned") == "1700000100");
    CHECK(p.count(RcptState::pending) == 0);
    CHECK(p.all_final());

    Envelope null_sender;
    null_sender.recipients.emplace_back();
    null_sender.recipients.back().address = Address::parse("root", {.allow_bare_local = true});
    CHECK(parse_envelope(serialize(null_sender)).sender.is_null());

    CHECK_THROWS_AS(parse_envelope(""), Error);
    CHECK_THROWS_AS(parse_envelope("mta-envelope 1\narrival 1\n"), Error);  // truncated: no end line
    CHECK_THROWS_AS(parse_envelope("mta-envelope 2\nend\n"), Error);
    CHECK_THROWS_AS(parse_envelope("mta-envelope 1\narrival x\nend\n"), Error);
    CHECK_THROWS_AS(parse_envelope("mta-envelope 1\n  state sent\nend\n"), Error);
    CHECK_THROWS_AS(parse_envelope("mta-envelope 1\nrcpt <a@b>\n  state maybe\nend\n"), Error);
    CHECK_THROWS_AS(parse_envelope("mta-envelope 1\nrcpt <not an address>\nend\n"), Error);
    CHECK_THROWS_AS(parse_envelope("mta-envelope 1\nend\nsender <>\n"), Error);
}

TEST_CASE("a committed message is complete, visible and due", "[spool]") {
    TempDir d;
    Spool s(d.path + "/spool");
    s.create();
    s.check();
    QueueId id = commit_one(s, 7);
    CHECK(s.content(id) == content_for(7));
    auto e = s.load(id);
    REQUIRE(e);
    CHECK(e->size == content_for(7).size());
    CHECK(e->recipients.size() == 2);
    CHECK(s.list() == std::vector<QueueId>{id});
    CHECK(s.due(clock::now() + 1) == std::vector<QueueId>{id});
    struct stat st;
    // One file, env/<ID>, content and envelope; nothing else.
    CHECK(count_entries(d.path + "/spool/msg") == 0);
    CHECK(count_entries(d.path + "/spool/env") == 1);
    REQUIRE(stat((d.path + "/spool/msg").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(stat(s.path("env", id).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

namespace {
// The directory's inode flags (chattr), or -1 where the file system has none.
int directory_flags(const std::string& p) {
    int fd = open(p.c_str(), O_RDONLY | O_DIRECTORY);
    int flags = 0;
    bool ok = fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    if (fd >= 0) close(fd);
    return ok ? flags : -1;
}
}  // namespace

TEST_CASE("init marks the spool as the top of a directory hierarchy where the file system keeps the mark", "[spool]") {
    TempDir d;
    // Whether this file system keeps the mark at all: try it on another directory.
    std::string probe = d.path + "/probe";
    REQUIRE(mkdir(probe.c_str(), 0700) == 0);
    bool kept = false;
    if (int flags = directory_flags(probe); flags >= 0) {
        int fd = open(probe.c_str(), O_RDONLY | O_DIRECTORY);
        REQUIRE(fd >= 0);
        flags |= FS_TOPDIR_FL;
        kept = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0 && (directory_flags(probe) & FS_TOPDIR_FL);
        close(fd);
    }
    Spool s(d.path + "/spool");
    s.create();
    if (!kept) {
        WARN("the file system under " << d.path << " keeps no top-directory mark: not checked");
        return;
    }
    CHECK((directory_flags(d.path + "/spool") & FS_TOPDIR_FL) != 0);
    CHECK((directory_flags(d.path + "/spool/msg") & FS_TOPDIR_FL) == 0);
    s.create();  // again, on the existing spool
    CHECK((directory_flags(d.path + "/spool") & FS_TOPDIR_FL) != 0);
}

TEST_CASE("an aborted message leaves nothing behind", "[spool]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    {
        auto in = s.receive();
        in.write("partial");
    }  // destroyed without commit
    CHECK(s.list().empty());
    CHECK(count_entries(d.path + "/msg") == 0);
    CHECK(count_entries(d.path + "/env") == 0);
}

TEST_CASE("next attempt time is the envelope mtime; hold hides, release restores", "[spool]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    QueueId a = commit_one(s, 1), b = commit_one(s, 2);
    auto now = clock::now();
    auto e = *s.load(a);
    e.next_attempt = now + 3600;
    e.attempts = 1;
    s.update(e);
    CHECK(s.due(now + 10) == std::vector<QueueId>{b});
    CHECK(s.due(now + 3601).size() == 2);
    CHECK(s.load(a)->attempts == 1);
    s.hold(b);
    CHECK(s.is_held(b));
    CHECK(s.due(now + 7200) == std::vector<QueueId>{a});
    CHECK(s.list().size() == 2);
    auto held = *s.load(b);
    held.attempts = 9;
    s.update(held);  // updates stay in hold/
    CHECK(s.is_held(b));
    s.release(b);
    CHECK(s.load(b)->attempts == 9);
    CHECK(s.due(now + 7200).size() == 2);
    s.remove(a);
    CHECK_FALSE(s.load(a));
    CHECK(s.list() == std::vector<QueueId>{b});
    CHECK(count_entries(d.path + "/msg") == 1);
}

TEST_CASE("recovery removes old leftovers and nothing committed", "[spool]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    QueueId kept = commit_one(s, 1);
    auto in = s.receive();  // a live writer
    in.write("in progress");
    std::ofstream(d.path + "/env/." + QueueId::generate().str() + ".tmp") << "dead writer";
    std::ofstream(d.path + "/msg/" + QueueId::generate().str()) << "interrupted removal";
    std::ofstream(d.path + "/env/.x.123.tmp") << "interrupted rewrite";
    auto now = clock::now();
    auto r = s.recover(now);  // nothing is old yet
    CHECK(r.temporary_removed == 0);
    CHECK(r.orphans_removed == 0);
    r = s.recover(now + 2 * 24 * 3600);
    CHECK(r.temporary_removed == 2);  // the rewrite and the dead writer; the live one holds its lock, however old
    CHECK(r.orphans_removed == 1);    // content without an envelope
    CHECK(s.list() == std::vector<QueueId>{kept});
    CHECK(s.content(kept) == content_for(1));
    // The live writer still commits a complete message.
    QueueId late = in.id();
    in.write(" and done");
    in.commit(envelope_for(2));
    CHECK(s.content(late) == "in progress and done");
    CHECK(s.list().size() == 2);
}

TEST_CASE("a writer whose content file was removed does not commit", "[spool]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    auto in = s.receive();
    in.write("content");
    REQUIRE(::unlink((d.path + "/env/." + in.id().str() + ".tmp").c_str()) == 0);  // say, an administrator's rm
    try {
        in.commit(envelope_for(1));
        FAIL("committed without content");
    } catch (const Error& e) {
        CHECK(e.status().code == 451);
    }
    CHECK(s.list().empty());
    CHECK(count_entries(d.path + "/env") == 0);
}

TEST_CASE("a writer whose id is taken meanwhile fails and leaves the other message alone", "[spool]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    auto in = s.receive();
    in.write("content");
    // Another message under the same id: an envelope left without its
    // content (env/.<ID>.tmp reserves the id only among writers).
    std::ofstream(s.path("env", in.id())) << "mta-envelope 1\nend\n";
    try {
        in.commit(envelope_for(1));
        FAIL("committed over another message");
    } catch (const Error& e) {
        CHECK(e.status().code == 451);
    }
    CHECK(slurp(s.path("env", in.id())) == "mta-envelope 1\nend\n");
    CHECK(count_entries(d.path + "/env") == 1);
    CHECK(count_entries(d.path + "/msg") == 0);
}

TEST_CASE("write errors are reported with the right reply and leave nothing visible", "[spool][fault]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    for (long step = 1; step <= 12; ++step) {
        durable::reset_steps();
        durable::set_fail_at(step, ENOSPC);
        try {
            commit_one(s, int(step));
        } catch (const Error& e) {
            CHECK(e.status().code == 452);
            CHECK(e.status().enhanced == "4.3.1");
        }
        durable::set_fail_at(0, 0);
    }
    // Whatever failed is gone; whatever succeeded is complete.
    for (auto& id : s.list()) {
        auto e = s.load(id);
        REQUIRE(e);
        std::string c = s.content(id);
        CHECK(c.size() == e->size);
        CHECK(c.find("END ") != std::string::npos);
    }
    CHECK(count_entries(d.path + "/msg") == 0);
    CHECK(count_entries(d.path + "/env") == int(s.list().size()));  // no temporaries
}

// The crash test: a child commits messages and is killed at step N of the
// durable protocol, for every N. After each, recovery runs and every message
// the child acknowledged must be complete; nothing partial may be visible.
TEST_CASE("a crash at any step of commit loses no acknowledged message", "[spool][crash]") {
    long crash_points = 0;
    for (long n = 1; n < 10000; ++n) {
        TempDir d;
        Spool s(d.path);
        s.create();
        int p[2];
        REQUIRE(pipe(p) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            durable::reset_steps();
            durable::set_crash_at(n);
            for (int i = 0; i < 3; ++i) {
                QueueId id = commit_one(s, i);
                std::string ack = id.str() + " " + std::to_string(i) + "\n";  // "250 queued as ID"
                if (write(p[1], ack.data(), ack.size()) != ssize_t(ack.size())) _exit(3);
            }
            _exit(0);
        }
        close(p[1]);
        std::string acks;
        char buf[256];
        ssize_t r;
        while ((r = read(p[0], buf, sizeof buf)) > 0) acks.append(buf, size_t(r));
        close(p[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        bool crashed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        REQUIRE((crashed || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));

        s.recover(clock::now() + 3 * 24 * 3600);
        std::istringstream in(acks);
        std::string id_text;
        int i;
        std::set<std::string> acked;
        while (in >> id_text >> i) {
            auto id = QueueId::parse(id_text);
            REQUIRE(id);
            acked.insert(id_text);
            auto e = s.load(*id);
            REQUIRE(e);  // acknowledged ⇒ queued
            REQUIRE(s.content(*id) == content_for(i));
            REQUIRE(e->recipients.size() == 2);
        }
        // Everything visible is complete (acknowledged or not).
        for (auto& id : s.list()) {
            auto e = s.load(id);
            REQUIRE(e);
            std::string c = s.content(id);
            REQUIRE(c.size() == e->size);
            REQUIRE(c.substr(c.size() - 6).find("END") != std::string::npos);
        }
        CHECK(count_entries(d.path + "/env") == int(s.list().size()));  // recovery took what a dead writer left
        if (!crashed) {
            CHECK(acked.size() == 3);
            break;
        }
        ++crash_points;
    }
    INFO("crash points exercised: " << crash_points);
    CHECK(crash_points >= 3 * 4);  // each commit: create, write, rename, fsync at least
}

TEST_CASE("a crash at any step of an envelope update leaves the old or the new envelope", "[spool][crash]") {
    long crash_points = 0;
    for (long n = 1; n < 1000; ++n) {
        TempDir d;
        Spool s(d.path);
        s.create();
        QueueId id = commit_one(s, 1);
        std::string before = slurp(s.path("env", id));
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            durable::reset_steps();
            durable::set_crash_at(n);
            auto e = *s.load(id);
            e.recipients[0].state = RcptState::sent;
            e.recipients[0].last = "250 2.0.0 Ok";
            e.next_attempt = e.arrival + 300;
            s.update(e);
            // then the message is finished: remove it
            e.recipients[1].state = RcptState::failed;
            s.update(e);
            s.remove(id);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        bool crashed = WIFSIGNALED(status);
        s.recover(clock::now() + 3 * 24 * 3600);
        auto e = s.load(id);
        if (e) {
            REQUIRE(s.content(id) == content_for(1));  // body never rewritten
            std::string now = slurp(s.path("env", id));
            bool old_or_new = now == before || e->recipients[0].state == RcptState::sent;
            REQUIRE(old_or_new);
        } else {
            // removed: no orphan content may stay after recovery
            CHECK(count_entries(d.path + "/msg") == 0);
        }
        CHECK(count_entries(d.path + "/env") == (e ? 1 : 0));  // no leftover temporaries after recovery
        if (!crashed) {
            CHECK_FALSE(e);
            break;
        }
        ++crash_points;
    }
    CHECK(crash_points >= 8);
}

TEST_CASE("two concurrent runners never claim the same message", "[spool][claim]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    for (int i = 0; i < 150; ++i) {
        auto in = s.receive();
        in.write("message " + std::to_string(i) + "\n");
        in.commit(envelope_for(i));
    }
    auto runner = [&](const std::string& out) {
        std::ofstream log(out);
        for (auto& id : s.due(clock::now() + 1)) {
            auto claim = s.claim(id);
            if (!claim) continue;
            log << id.str() << "\n" << std::flush;
            usleep(200);  // "delivering" while holding the claim
            s.remove(id);
        }
        log.close();
        _exit(0);
    };
    pid_t a = fork();
    if (a == 0) runner(d.path + "/a.out");
    pid_t b = fork();
    if (b == 0) runner(d.path + "/b.out");
    int st;
    waitpid(a, &st, 0);
    waitpid(b, &st, 0);
    std::multiset<std::string> all;
    for (auto f : {"/a.out", "/b.out"}) {
        std::istringstream in(slurp(d.path + f));
        std::string id;
        while (in >> id) all.insert(id);
    }
    CHECK(all.size() == 150);
    CHECK(std::set<std::string>(all.begin(), all.end()).size() == 150);  // no message twice
    CHECK(s.list().empty());
    // A held claim excludes a second claimer, even in the same process.
    auto in = s.receive();
    in.write("x\n");
    QueueId id = in.id();
    in.commit(envelope_for(1));
    auto c1 = s.claim(id);
    REQUIRE(c1);
    CHECK_FALSE(s.claim(id));
    CHECK(c1->read_all() == "x\n");
}

// Two written files, a and b, not yet synced, in a directory of their own.
struct TwoFiles {
    TempDir t;
    std::string a = t.path + "/a", b = t.path + "/b";
    durable::Fd fa = durable::create_exclusive(a), fb = durable::create_exclusive(b);
    TwoFiles() {
        durable::write_all(fa.get(), "one", a);
        durable::write_all(fb.get(), "two", b);
    }
};

TEST_CASE("sync_together makes files and directories durable at once, and reports a failure", "[durable]") {
    TwoFiles f;
    auto& [t, a, b, fa, fb] = f;
    durable::reset_steps();
    durable::sync_together({{fa.get(), a}, {fb.get(), b}, {-1, t.path}});
    CHECK(durable::steps_taken() == 3);  // one fault point each, taken in order
    // An injected failure of the second: thrown, naming it.
    durable::reset_steps();
    durable::set_fail_at(2, EIO);
    try {
        durable::sync_together({{fa.get(), a}, {fb.get(), b}});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find(b) != std::string::npos);
    }
    durable::set_fail_at(0, 0);
    // A real failure in one of the threads (not a file descriptor).
    CHECK_THROWS_AS(durable::sync_together({{fa.get(), a}, {999999, "bad"}}), Error);
    CHECK_THROWS_AS(durable::sync_together({{-1, t.path + "/missing"}}), Error);
}

TEST_CASE("syncfs pays on Linux 5.17 or later with little unwritten", "[durable]") {
    const std::string meminfo = "MemTotal:        4012345 kB\nDirty:              36 kB\nWriteback:           4 kB\n"
                                "WritebackTmp:        0 kB\n";
    const std::uint64_t budget = 16 << 20;
    CHECK(durable::syncfs_pays(meminfo, "6.1.0-13-amd64", budget));
    CHECK(durable::syncfs_pays(meminfo, "5.17.0", budget));
    CHECK(durable::syncfs_pays(meminfo, "5.19-rc1", budget));
    CHECK_FALSE(durable::syncfs_pays(meminfo, "5.16.20", budget));  // the file system's errors not reported
    CHECK_FALSE(durable::syncfs_pays(meminfo, "5.10.0-30-amd64", budget));
    CHECK_FALSE(durable::syncfs_pays(meminfo, "4.19.0-26-amd64", budget));
    CHECK_FALSE(durable::syncfs_pays(meminfo, "", budget));
    CHECK_FALSE(durable::syncfs_pays(meminfo, "linux", budget));
    CHECK(durable::syncfs_pays(meminfo, "6.1.0", 40 * 1024));  // 36 + 4 kB
    CHECK_FALSE(durable::syncfs_pays(meminfo, "6.1.0", 40 * 1024 - 1));
    CHECK_FALSE(durable::syncfs_pays("MemTotal: 1 kB\nDirty: 20000 kB\nWriteback: 0 kB\n", "6.1.0", budget));
    CHECK_FALSE(durable::syncfs_pays("MemTotal: 1 kB\nDirty: 1 kB\n", "6.1.0", budget));  // Writeback missing
    CHECK(durable::syncfs_pays("MemTotal: 1 kB\nDirty: 1 kB\nWriteback: 0 kB\n", "6.1.0", budget));
    CHECK_FALSE(durable::syncfs_pays("MemTotal: 1 kB\nDirty: 1 MB\nWriteback: 0 kB\n", "6.1.0", budget));  // the unit
    CHECK_FALSE(durable::syncfs_pays("", "6.1.0", budget));
}

TEST_CASE("sync_group: one syncfs where it pays, else an fsync each; a failed syncfs fails its file system's targets",
          "[durable]") {
    TwoFiles f;
    auto& [t, a, b, fa, fb] = f;
    const std::vector<durable::SyncTarget> targets = {{fa.get(), a}, {fb.get(), b}};
    const std::uint64_t any = ~std::uint64_t(0);
    // Linux 5.17 or later, and a file system whose syncfs is whole.
    struct statfs fs;
    REQUIRE(fstatfs(fa.get(), &fs) == 0);
    const bool whole = fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC || fs.f_type == BTRFS_SUPER_MAGIC;
    const bool taken = durable::syncfs_pays(any) && whole;
    durable::reset_steps();
    durable::GroupSync how = durable::GroupSync::filesystem;
    auto e = durable::sync_group(targets, how, any);
    CHECK(e.size() == 2);
    CHECK((!e[0] && !e[1]));
    CHECK(durable::steps_taken() == (taken ? 1 : 2));  // both files are on one file system
    durable::reset_steps();
    how = durable::GroupSync::file;
    e = durable::sync_group(targets, how, any);
    CHECK((!e[0] && !e[1]));
    CHECK(durable::steps_taken() == 2);
    if (taken) {
        durable::reset_steps();
        durable::set_fail_at(1, EIO);
        how = durable::GroupSync::filesystem;
        e = durable::sync_group(targets, how, any);
        durable::set_fail_at(0, 0);
        CHECK((e[0] && e[1]));
        CHECK(durable::steps_taken() == 1);
    }
    // A target that is not open: each alone, and only it fails.
    how = durable::GroupSync::filesystem;
    e = durable::sync_group({{fa.get(), a}, {-1, t.path + "/missing"}}, how, any);
    CHECK((!e[0] && e[1]));
}

TEST_CASE("sync_each: each target fails alone", "[durable]") {
    TwoFiles f;
    auto& [t, a, b, fa, fb] = f;
    auto e = durable::sync_each({{fa.get(), a}, {999999, "bad"}, {-1, t.path + "/missing"}, {fb.get(), b}});
    REQUIRE(e.size() == 4);
    CHECK(!e[0]);
    REQUIRE(e[1]);
    CHECK(std::string(e[1]->what()).find("fsync bad") != std::string::npos);
    CHECK(e[1]->status().enhanced == "4.3.0");
    CHECK(e[2]);
    CHECK(!e[3]);
    // An injected failure of the second fails it alone, with one fault
    // point taken for each target, in order.
    durable::reset_steps();
    durable::set_fail_at(2, ENOSPC);
    e = durable::sync_each({{fa.get(), a}, {fb.get(), b}, {-1, t.path}});
    durable::set_fail_at(0, 0);
    CHECK(durable::steps_taken() == 3);
    CHECK(!e[0]);
    REQUIRE(e[1]);
    CHECK(e[1]->status().code == 452);
    CHECK(!e[2]);
    CHECK(durable::sync_each({}).empty());
}

TEST_CASE("a prepared file appears only when installed", "[durable]") {
    TempDir t;
    {
        durable::PreparedFile f(t.path, "x", "dropped\n", std::nullopt, std::nullopt);
        durable::sync(f.target().fd, f.target().what);
    }
    CHECK(::access((t.path + "/x").c_str(), F_OK) != 0);
    CHECK(std::system(("test -z \"$(ls -A " + t.path + ")\"").c_str()) == 0);  // no temporary left
    durable::PreparedFile f(t.path, "x", "kept\n", std::time_t(1000000000), std::nullopt);
    durable::sync_together({f.target()});
    f.install();
    CHECK(slurp(t.path + "/x") == "kept\n");
    struct stat st;
    REQUIRE(::stat((t.path + "/x").c_str(), &st) == 0);
    CHECK(st.st_mtime == 1000000000);
}

namespace {
// A spool with three committed messages (contents 1, 2 and 3), the second held.
struct ThreeMessages {
    TempDir d;
    Spool s{d.path};
    QueueId a = (s.create(), commit_one(s, 1));
    QueueId b = commit_one(s, 2);
    QueueId c = commit_one(s, 3);
    ThreeMessages() { s.hold(b); }
};
}  // namespace

TEST_CASE("update_all records several envelopes, held ones in hold/, and reports the ones it cannot", "[spool]") {
    ThreeMessages m;
    auto& [d, s, a, b, c] = m;
    auto now = clock::now();
    Envelope ea = *s.load(a), eb = *s.load(b), ec = *s.load(c);
    ea.attempts = 3;
    ea.next_attempt = now + 600;
    eb.attempts = 4;
    s.remove(c);  // gone meanwhile: not recreated
    std::vector<std::string> errors = s.update_all({&ea, &eb, &ec});
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].empty());
    CHECK(errors[1].empty());
    CHECK(errors[2].find("not queued") != std::string::npos);
    CHECK(s.load(a)->attempts == 3);
    CHECK(s.due(now + 10).empty());  // a's mtime is its next attempt
    CHECK(s.due(now + 601) == std::vector<QueueId>{a});
    CHECK(s.is_held(b));
    CHECK(s.load(b)->attempts == 4);
    CHECK_FALSE(s.load(c));
    CHECK(count_entries(d.path + "/env") == 1);  // no temporary left
    CHECK(count_entries(d.path + "/hold") == 1);
    CHECK(s.update_all({}).empty());
}

namespace {
nlink_t links_of(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 ? st.st_nlink : 0;
}
}  // namespace

TEST_CASE("content named env/ or hold/ alone is read there, claimed there, and named msg/ by its first rewrite", "[spool]") {
    ThreeMessages m;
    auto& [d, s, a, b, c] = m;
    // As mta-recv leaves it (and as a crash may leave a message named
    // msg/ by a runner): the received file under its one name.
    for (auto& id : {a, b, c}) ::unlink(s.path("msg", id).c_str());
    CHECK(s.content(a) == content_for(1));  // read in place, nothing written
    CHECK(s.open_content(b).size == content_for(2).size());
    CHECK(links_of(s.path("msg", a)) == 0);
    // A claim locks that file; a second claim of the same message fails.
    for (auto& [id, i] : {std::pair{a, 1}, std::pair{b, 2}}) {
        auto claim = s.claim(id);
        REQUIRE(claim);
        CHECK_FALSE(s.claim(id));
        CHECK(claim->read_all() == content_for(i));
        CHECK(links_of(s.path("msg", id)) == 0);
    }
    // A first rewrite whose naming fails changes nothing.
    Envelope ea = *s.load(a);
    ea.attempts = 1;
    durable::reset_steps();
    durable::set_fail_at(1, EIO);
    CHECK_THROWS_WITH(s.update(ea), Catch::Contains("link"));
    durable::set_fail_at(0, 0);
    CHECK(links_of(s.path("msg", a)) == 0);
    CHECK(s.load(a)->attempts == 0);
    // The first rewrite names the content msg/ and gives the envelope a
    // file of its own; the content stays, and so does a held one's.
    {
        auto claim = s.claim(a);
        REQUIRE(claim);
        s.update(ea);
        CHECK_FALSE(s.claim(a));  // the lock is on the content, whatever its name
    }
    CHECK(links_of(s.path("msg", a)) == 1);
    CHECK(links_of(s.path("env", a)) == 1);
    CHECK(s.content(a) == content_for(1));
    CHECK(s.load(a)->attempts == 1);
    Envelope eb = *s.load(b);
    eb.attempts = 2;
    REQUIRE(s.update_all({&eb}) == std::vector<std::string>(1));
    CHECK(links_of(s.path("msg", b)) == 1);
    CHECK(s.is_held(b));
    CHECK(s.content(b) == content_for(2));
    // An envelope alone whose content is gone is not a message to claim,
    // nor one a rewrite names.
    Envelope ec = *s.load(c);
    s.update(ec);
    REQUIRE(::unlink(s.path("msg", c).c_str()) == 0);
    CHECK_FALSE(s.claim(c));
    CHECK_THROWS_AS(s.content(c), Error);
    CHECK_THROWS_WITH(s.update(ec), Catch::Contains("no content"));
    CHECK(links_of(s.path("msg", c)) == 0);
}

TEST_CASE("a claim frees the blocks of its file only once the message is removed", "[spool]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    QueueId kept = commit_one(s, 1), gone = commit_one(s, 2);
    auto size_of = [](int fd) {
        struct stat st;
        REQUIRE(::fstat(fd, &st) == 0);
        return st.st_size;
    };
    auto a = s.claim(kept), b = s.claim(gone);
    REQUIRE(a);
    REQUIRE(b);
    off_t full = size_of(a->fd());
    REQUIRE(full > off_t(content_for(1).size()));
    a->free_if_removed();  // queued: left alone
    CHECK(size_of(a->fd()) == full);
    CHECK(s.content(kept) == content_for(1));
    // Rewritten (content under msg/, the envelope a file of its own), it
    // still has names: left alone.
    Envelope e = *s.load(kept);
    e.attempts = 1;
    s.update(e);
    a->free_if_removed();
    CHECK(size_of(a->fd()) == full);
    CHECK(s.content(kept) == content_for(1));
    s.remove(gone);
    b->free_if_removed();
    CHECK(size_of(b->fd()) == 0);
}

TEST_CASE("a message whose content was removed by hand is refused by every control but delete", "[spool]") {
    ThreeMessages m;
    auto& [d, s, a, b, c] = m;
    // Envelopes of their own (a first rewrite under a claim), then the
    // content files removed by hand; b is on hold.
    for (auto& id : {a, b}) {
        auto claim = s.claim(id);
        REQUIRE(claim);
        s.update(*s.load(id));
    }
    CHECK_FALSE(s.content_gone(a));
    for (auto& id : {a, b}) REQUIRE(::unlink(s.path("msg", id).c_str()) == 0);
    // c's envelope is still the received file: content without a msg/
    // name is not gone content (its first rewrite names it).
    ::unlink(s.path("msg", c).c_str());
    CHECK(s.content_gone(a));
    CHECK(s.content_gone(b));
    CHECK_FALSE(s.content_gone(c));
    CHECK_FALSE(s.claim(a));
    CHECK(unclaimed(s, a) == Control::content_gone);
    CHECK(hold_message(s, a) == Control::content_gone);
    CHECK(release_message(s, b) == Control::content_gone);
    CHECK(make_due(s, a, clock::now(), false) == Control::content_gone);
    {
        auto busy = s.claim(c);
        REQUIRE(busy);
        CHECK(delete_message(s, c) == Control::busy);
    }
    CHECK(delete_message(s, a) == Control::done);
    CHECK(delete_message(s, b) == Control::done);
    CHECK_FALSE(s.load(a));
    CHECK_FALSE(s.load(b));
    CHECK(delete_message(s, a) == Control::missing);
    CHECK(s.list() == std::vector<QueueId>{c});
    CHECK(s.content(c) == content_for(3));
}

TEST_CASE("the first rewrite of an envelope makes msg/ durable before it", "[spool][fault]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    QueueId a = commit_one(s, 1);
    Envelope ea = *s.load(a);
    ea.attempts = 1;
    // update(): the content named msg/<ID>, then msg/ fsynced; that
    // failed, the envelope is unchanged (and still the received file).
    bool failed_there = false;
    for (long step = 1; step <= 4 && !failed_there; ++step) {
        durable::reset_steps();
        durable::set_fail_at(step, EIO);
        try {
            s.update(ea);
        } catch (const Error& e) {
            failed_there = std::string(e.what()).find("fsync-dir " + d.path + "/msg") != std::string::npos;
        }
        durable::set_fail_at(0, 0);
    }
    CHECK(failed_there);
    CHECK(links_of(s.path("env", a)) == 2);
    CHECK(s.load(a)->attempts == 0);
    // update_all(): msg/ is fsynced with the new envelopes; failed, none is installed.
    bool seen = false;
    for (long step = 1; step <= 12 && !seen; ++step) {
        QueueId x = commit_one(s, 10), y = commit_one(s, 11);
        Envelope ex = *s.load(x), ey = *s.load(y);
        ex.attempts = ey.attempts = 1;
        durable::reset_steps();
        durable::set_fail_at(step, EIO);
        std::vector<std::string> errors = s.update_all({&ex, &ey});
        durable::set_fail_at(0, 0);
        if (errors[0].find("fsync-dir " + d.path + "/msg") == std::string::npos) continue;
        seen = true;
        CHECK(errors[1] == errors[0]);
        CHECK(links_of(s.path("env", x)) == 2);
        CHECK(links_of(s.path("env", y)) == 2);
        CHECK(s.load(y)->attempts == 0);
    }
    CHECK(seen);
    // Once rewritten, an envelope is a file of its own and msg/ is left alone.
    s.update(ea);
    durable::reset_steps();
    durable::set_fail_at(1, EIO);
    CHECK_THROWS_WITH(s.update(ea), !Catch::Contains("/msg"));
    durable::set_fail_at(0, 0);
}

TEST_CASE("update_all: the fsync of msg/ is taken, and can fail, in each batch that holds a first rewrite", "[spool][fault]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    auto small = [&] {
        auto in = s.receive();
        in.write("Subject: small\n\nbody\n");
        QueueId id = in.id();
        in.commit(envelope_for(0));
        return id;
    };
    // 32 envelopes rewritten once already fill the first batch; a message
    // new each time, whose envelope is still the received file, is the
    // second batch alone.
    std::vector<Envelope> old;
    for (int i = 0; i < 32; ++i) old.push_back(*s.load(small()));
    std::vector<const Envelope*> ptrs;
    for (auto& e : old) ptrs.push_back(&e);
    REQUIRE(s.update_all(ptrs) == std::vector<std::string>(32));
    auto with_new = [&] {
        QueueId id = small();
        auto e = std::make_unique<Envelope>(*s.load(id));
        e->attempts = 1;
        return e;
    };
    auto fresh = with_new();
    ptrs.push_back(fresh.get());
    durable::reset_steps();
    REQUIRE(s.update_all(ptrs) == std::vector<std::string>(33));
    long steps = durable::steps_taken();
    bool seen = false;
    for (long step = steps; step >= 1 && !seen; --step) {
        fresh = with_new();
        ptrs.back() = fresh.get();
        durable::reset_steps();
        durable::set_fail_at(step, EIO);
        std::vector<std::string> errors = s.update_all(ptrs);
        durable::set_fail_at(0, 0);
        if (errors[32].find("fsync-dir " + d.path + "/msg") == std::string::npos) continue;
        seen = true;
        CHECK(errors[0].empty());  // the first batch needed no msg/ fsync
        CHECK(links_of(s.path("env", *fresh->id)) == 2);
        CHECK(s.load(*fresh->id)->attempts == 0);
    }
    CHECK(seen);
}
