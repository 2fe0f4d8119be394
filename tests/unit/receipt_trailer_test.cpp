#include "durable.hpp"
#include "receipt_trailer.hpp"
#include "spool.hpp"
#include "status.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace mta;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/mta-receipt-test.XXXXXX";
        path = mkdtemp(t);
    }
    ~TempDir() { [[maybe_unused]] int r = std::system(("rm -rf " + path).c_str()); }
};

Envelope sample(std::uint64_t size) {
    Envelope e;
    e.id = QueueId::generate();
    e.arrival = 1700000000;
    e.next_attempt = 1700000000;
    e.sender = Address::parse("alice@example.org", {});
    e.size = size;
    e.helo = "x envelope-at 00000000000000000001";
    e.recipients.emplace_back();
    e.recipients.back().address = Address::parse("bob@example.net", {});
    return e;
}

std::string write_temp(const TempDir& d, const std::string& name, const std::string& bytes) {
    std::string p = d.path + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}

// The trailer that the spool appends to content.
std::string trailer(std::string_view content, const Envelope& e) {
    Xxh64 sum;
    sum.update(content);
    return receipt_trailer::make(e, sum);
}

// A message received through the spool, as mta-recv receives one.
QueueId receive_one(const Spool& s) {
    auto in = s.receive();
    QueueId id = in.id();
    in.write("Subject: one\n\nbody\n");
    Envelope e = sample(0);
    e.id.reset();
    in.commit(e);
    return id;
}

int open_ro(const std::string& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    return fd;
}

ino_t inode(const std::string& p) {
    struct stat st;
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_ino;
}

}  // namespace

TEST_CASE("a trailer is taken apart into the content and the envelope", "[spool][receipt]") {
    // Content that looks like an envelope and a footer itself.
    for (std::string content : {std::string(""), std::string("Subject: x\n\nbody\n"), std::string("no newline"),
                                serialize(sample(3)) + "envelope-at 00000000000000000000\n"}) {
        Envelope e = sample(content.size());
        std::string file = content + trailer(content, e);
        auto parts = receipt_trailer::split(file, *e.id);
        CHECK(parts.content == content);
        REQUIRE(parts.envelope);
        CHECK(serialize(*parts.envelope) == serialize(e));
    }
}

TEST_CASE("a footer is believed only when the envelope before it says so", "[spool][receipt]") {
    std::string content = "Subject: x\n\nbody\n";
    Envelope e = sample(content.size());
    QueueId id = *e.id;
    // No trailer at all: everything is content.
    CHECK(receipt_trailer::split(content, id).content == content);
    CHECK_FALSE(receipt_trailer::split(content, id).envelope);
    // An envelope whose size is not its offset.
    Envelope wrong_size = e;
    wrong_size.size += 1;
    std::string wrong = content + trailer(content, wrong_size);
    CHECK(receipt_trailer::split(wrong, id).content == wrong);
    CHECK_FALSE(receipt_trailer::split(wrong, id).envelope);
    // A trailer that names another message: content of an earlier version
    // (no trailer) whose sender ended it with a forged one.
    std::string forged = content + trailer(content, e);
    CHECK(receipt_trailer::split(forged, id).envelope);
    CHECK_FALSE(receipt_trailer::split(forged, QueueId::generate()).envelope);
    CHECK(receipt_trailer::split(forged, QueueId::generate()).content == forged);
    // A footer pointing past the file, with a letter among its digits, or
    // with a number beyond 64 bits.
    for (std::string bad : {content + "envelope-at 99999999999999999999\n", content + "envelope-at 0000000000000000000x\n",
                            serialize(sample(0)) + "envelope-at 36893488147419103232\n"})
        CHECK_FALSE(receipt_trailer::split(bad, id).envelope);
    // A footer without its envelope.
    std::string bare = "envelope-at 00000000000000000000\n";
    CHECK_FALSE(receipt_trailer::split(bare, id).envelope);
}

TEST_CASE("envelope and content files are read in either form", "[spool][receipt]") {
    TempDir d;
    std::string content = "Subject: y\n\n" + std::string(200000, 'z') + "\n";
    Envelope e = sample(content.size());
    std::string joined = write_temp(d, "joined", content + trailer(content, e));
    std::string plain = write_temp(d, "plain", serialize(e));
    std::string bare = write_temp(d, "bare", content);
    for (auto& p : {joined, plain}) {
        int fd = open_ro(p);
        CHECK(serialize(receipt_trailer::read_envelope(fd, *e.id, p)) == serialize(e));
        ::close(fd);
    }
    for (auto& p : {joined, bare}) {
        int fd = open_ro(p);
        CHECK(receipt_trailer::read_content(fd, *e.id, p) == content);
        ::close(fd);
    }
    // Content without its trailer is told by its first line (exit 65).
    int fd = open_ro(bare);
    try {
        receipt_trailer::read_envelope(fd, *e.id, bare);
        FAIL("read an envelope from content alone");
    } catch (const Error& err) {
        CHECK(std::string(err.what()) == "envelope: not an mta-envelope 1 file");
        CHECK(err.exit_code() == ex::dataerr);
    }
    ::close(fd);
    // An envelope of its own larger than a small file is read whole.
    Envelope many = sample(content.size());
    for (int i = 0; i < 3000; ++i) {
        many.recipients.emplace_back();
        many.recipients.back().address = Address::parse("r" + std::to_string(i) + "@example.net", {});
    }
    std::string large = write_temp(d, "large", serialize(many));
    REQUIRE(serialize(many).size() > 65536);
    fd = open_ro(large);
    CHECK(receipt_trailer::read_envelope(fd, *many.id, large).recipients.size() == 3001);
    ::close(fd);
}

TEST_CASE("check_envelope_start judges a file's first line only", "[spool][receipt]") {
    CHECK_NOTHROW(check_envelope_start("mta-envelope 1\nid x\n"));
    CHECK_NOTHROW(check_envelope_start("mta-env"));  // too short to tell
    CHECK_NOTHROW(check_envelope_start(""));
    CHECK_THROWS_AS(check_envelope_start("Subject: hello\n\nbody\n"), Error);
    CHECK_THROWS_AS(check_envelope_start("mta-envelope 10\n"), Error);
    CHECK_THROWS_AS(check_envelope_start("mta-envelope 1 \n"), Error);
}

TEST_CASE("files around the sizes of the first read and of a small file read the same", "[spool][receipt]") {
    // The first read takes 4 KiB; a file that fills it is measured, and
    // read whole up to 64 KiB (read_head hands such content over in
    // memory), only its trailer beyond.
    TempDir d;
    Envelope e = sample(0);
    for (size_t file_size : {size_t(4095), size_t(4096), size_t(4097), size_t(65536), size_t(65537), size_t(200000)}) {
        INFO("file of " << file_size << " octets");
        e.size = file_size;  // the trailer's length depends on the size's digits
        e.size = file_size - trailer("", e).size();
        std::string content = "Subject: y\n\n";
        content += std::string(e.size - content.size() - 1, 'q') + "\n";
        std::string joined = content + trailer(content, e);
        REQUIRE(joined.size() == file_size);
        std::string p = write_temp(d, "f" + std::to_string(file_size), joined);
        int fd = open_ro(p);
        CHECK(serialize(receipt_trailer::read_envelope(fd, *e.id, p)) == serialize(e));
        auto head = receipt_trailer::read_head(fd, *e.id, p);
        CHECK(head.size == content.size());
        CHECK(head.content.has_value() == (file_size <= 65536));
        if (head.content) CHECK(*head.content == content);
        CHECK(receipt_trailer::read_content(fd, *e.id, p) == content);
        // Reads from the middle, of a given length, and to the end.
        CHECK(durable::read_at(fd, 10, 100000, p) == joined.substr(10, 100000));
        CHECK(durable::read_at(fd, 3, size_t(-1), p) == joined.substr(3));
        CHECK(durable::read_at(fd, file_size, size_t(-1), p).empty());
        ::close(fd);
    }
}

TEST_CASE("a received message is one file, env/<ID>, until its envelope is rewritten", "[spool][receipt]") {
    // As received, or also named msg/<ID> (by a rewrite that a crash cut
    // short, or by a version that wrote msg/<ID> first and linked it).
    bool also_msg = GENERATE(false, true);
    INFO((also_msg ? "msg/<ID> and env/<ID>" : "env/<ID> alone"));
    TempDir d;
    Spool s(d.path);
    s.create();
    QueueId id = receive_one(s);
    ino_t received = inode(s.path("env", id));
    CHECK(::access(s.path("msg", id).c_str(), F_OK) != 0);
    if (also_msg) REQUIRE(::link(s.path("env", id).c_str(), s.path("msg", id).c_str()) == 0);
    auto loaded = s.load(id);
    REQUIRE(loaded);
    CHECK(loaded->size == 19);
    CHECK(s.content(id) == "Subject: one\n\nbody\n");
    loaded->recipients[0].state = RcptState::sent;
    s.update(*loaded);
    CHECK(inode(s.path("msg", id)) == received);  // the content, named again by the rewrite if need be
    CHECK(inode(s.path("env", id)) != received);
    CHECK(s.content(id) == "Subject: one\n\nbody\n");
    CHECK(s.load(id)->recipients[0].state == RcptState::sent);
    s.hold(id);
    CHECK(s.load(id)->recipients[0].state == RcptState::sent);
    s.remove(id);
    CHECK_FALSE(s.load(id));
}

TEST_CASE("files of earlier versions, with OFFSET alone in the footer, are read as before", "[spool][receipt]") {
    std::string content = "Subject: old\n\nbody\n";
    Envelope e = sample(content.size());
    std::string n = std::to_string(content.size());
    std::string file = content + serialize(e) + "envelope-at " + std::string(20 - n.size(), '0') + n + "\n";
    auto parts = receipt_trailer::split(file, *e.id);
    CHECK(parts.content == content);
    REQUIRE(parts.envelope);
    CHECK(serialize(*parts.envelope) == serialize(e));
    TempDir d;
    std::string p = write_temp(d, "old", file);
    int fd = open_ro(p);
    CHECK(receipt_trailer::read_content(fd, *e.id, p) == content);
    CHECK(receipt_trailer::intact(fd, p));  // nothing to check it by
    ::close(fd);
}

namespace {
// The file with its footer's boot id replaced (another boot's).
std::string from_another_boot(std::string file) {
    size_t boot = file.rfind(" boot ");
    REQUIRE(boot != std::string::npos);
    file.replace(boot + 6, 32, std::string(32, '0'));
    return file;
}
}  // namespace

TEST_CASE("a received file from an earlier boot is intact only when its checksum matches", "[spool][receipt]") {
    TempDir d;
    // Small and larger than one read of the check.
    for (std::string content : {std::string("Subject: x\n\nbody\n"), "Subject: y\n\n" + std::string(150000, 'y') + "\n"}) {
        Envelope e = sample(content.size());
        std::string file = content + trailer(content, e);
        std::string earlier = from_another_boot(file);
        std::string torn = earlier;
        torn[content.size() - 2] = 'Z';  // an octet of the content, as a block that never reached the disk
        std::string torn_envelope = earlier;
        torn_envelope[content.size() + 3] = 'Z';  // the envelope is checked too
        struct Case {
            std::string name, bytes;
            bool intact;
        };
        for (const Case& c : {Case{"this boot", file, true}, Case{"an earlier boot", earlier, true}, Case{"an earlier boot, torn", torn, false},
                              Case{"an earlier boot, envelope torn", torn_envelope, false},
                              Case{"no footer", content, true}}) {
            INFO(c.name << ", " << content.size() << " octets");
            std::string p = write_temp(d, "f", c.bytes);
            int fd = open_ro(p);
            CHECK(receipt_trailer::intact(fd, p) == c.intact);
            ::close(fd);
        }
        // Content changed in this boot is not checked: the footer, written
        // last, says the page cache holds the whole file.
        std::string changed = file;
        changed[content.size() - 2] = 'Z';
        std::string p = write_temp(d, "g", changed);
        int fd = open_ro(p);
        CHECK(receipt_trailer::intact(fd, p));
        ::close(fd);
    }
}

TEST_CASE("a claim tells a torn received file", "[spool][receipt]") {
    TempDir d;
    Spool s(d.path);
    s.create();
    QueueId id = receive_one(s);
    std::string p = s.path("env", id);
    std::ifstream f(p, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(s.claim(id)->intact());
    bytes = from_another_boot(bytes);
    write_temp(d, "env/" + id.str(), bytes);
    CHECK(s.claim(id)->intact());
    bytes[15] = 'X';
    write_temp(d, "env/" + id.str(), bytes);
    CHECK_FALSE(s.claim(id)->intact());
}
