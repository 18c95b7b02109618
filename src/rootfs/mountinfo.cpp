#include "rootfs/mountinfo.hpp"

#include "base/dynlib.hpp"
#include "base/error.hpp"

#include <libmount/libmount.h>
#include <sys/sysmacros.h>

#include <memory>

namespace urunc::rootfs {

bool MountEntry::read_only() const
{
    return has_option(options, "ro") || has_option(super_options, "ro");
}

bool has_option(std::string_view options, std::string_view opt)
{
    while (!options.empty()) {
        auto comma = options.find(',');
        std::string_view word = options.substr(0, comma);
        // Options with values ("mode=755") match on their name only when asked by name.
        if (word == opt)
            return true;
        if (comma == std::string_view::npos)
            break;
        options.remove_prefix(comma + 1);
    }
    return false;
}

namespace {

// libmount's entry points, resolved on the first parse (see base/dynlib.hpp for why).
struct Libmount {
    decltype(&mnt_unref_table) unref_table;
    decltype(&mnt_free_iter) free_iter;
    decltype(&mnt_table_get_userdata) table_get_userdata;
    decltype(&mnt_new_table) new_table;
    decltype(&mnt_table_set_userdata) table_set_userdata;
    decltype(&mnt_table_set_parser_errcb) table_set_parser_errcb;
    decltype(&mnt_table_parse_stream) table_parse_stream;
    decltype(&mnt_new_iter) new_iter;
    decltype(&mnt_table_next_fs) table_next_fs;
    decltype(&mnt_fs_get_id) fs_get_id;
    decltype(&mnt_fs_get_parent_id) fs_get_parent_id;
    decltype(&mnt_fs_get_devno) fs_get_devno;
    decltype(&mnt_fs_get_root) fs_get_root;
    decltype(&mnt_fs_get_target) fs_get_target;
    decltype(&mnt_fs_get_fstype) fs_get_fstype;
    decltype(&mnt_fs_get_source) fs_get_source;
    decltype(&mnt_fs_get_vfs_options) fs_get_vfs_options;
    decltype(&mnt_fs_get_fs_options) fs_get_fs_options;
    decltype(&mnt_fs_get_optional_fields) fs_get_optional_fields;
};

const Libmount &lm()
{
    static DynLib lib("libmount.so.1");
    static const Libmount m{
        URUNC_DYNSYM(lib, mnt_unref_table),
        URUNC_DYNSYM(lib, mnt_free_iter),
        URUNC_DYNSYM(lib, mnt_table_get_userdata),
        URUNC_DYNSYM(lib, mnt_new_table),
        URUNC_DYNSYM(lib, mnt_table_set_userdata),
        URUNC_DYNSYM(lib, mnt_table_set_parser_errcb),
        URUNC_DYNSYM(lib, mnt_table_parse_stream),
        URUNC_DYNSYM(lib, mnt_new_iter),
        URUNC_DYNSYM(lib, mnt_table_next_fs),
        URUNC_DYNSYM(lib, mnt_fs_get_id),
        URUNC_DYNSYM(lib, mnt_fs_get_parent_id),
        URUNC_DYNSYM(lib, mnt_fs_get_devno),
        URUNC_DYNSYM(lib, mnt_fs_get_root),
        URUNC_DYNSYM(lib, mnt_fs_get_target),
        URUNC_DYNSYM(lib, mnt_fs_get_fstype),
        URUNC_DYNSYM(lib, mnt_fs_get_source),
        URUNC_DYNSYM(lib, mnt_fs_get_vfs_options),
        URUNC_DYNSYM(lib, mnt_fs_get_fs_options),
        URUNC_DYNSYM(lib, mnt_fs_get_optional_fields),
    };
    return m;
}

struct TableDeleter {
    void operator()(libmnt_table *t) const { lm().unref_table(t); }
};
struct IterDeleter {
    void operator()(libmnt_iter *i) const { lm().free_iter(i); }
};

std::string str_or_empty(const char *s) { return s ? s : ""; }

// libmount reports malformed lines through this callback; remember the first one and
// make the parse fail (the default would be to skip the line silently).
int on_parse_error(libmnt_table *tb, const char *, int line)
{
    auto *bad = static_cast<int *>(lm().table_get_userdata(tb));
    if (bad && *bad == 0)
        *bad = line;
    return -EINVAL;
}

}  // namespace

namespace {
struct FileCloser {
    void operator()(FILE *f) const { std::fclose(f); }
};
using UniqueFile = std::unique_ptr<FILE, FileCloser>;
}  // namespace

MountInfo MountInfo::load(const std::string &file)
{
    UniqueFile f(std::fopen(file.c_str(), "re"));
    if (!f)
        throw sys_error("parse `" + file + "`");
    return from_stream(f.get(), file);
}

MountInfo MountInfo::parse(std::string_view text, const std::string &name)
{
    if (text.empty())
        throw Error("parse `" + name + "`: no mounts in it", EINVAL);
    // fmemopen only reads from the buffer in "r" mode; the cast does not lead to a write.
    UniqueFile f(::fmemopen(const_cast<char *>(text.data()), text.size(), "r"));
    if (!f)
        throw sys_error("parse `" + name + "`");
    return from_stream(f.get(), name);
}

MountInfo MountInfo::from_stream(FILE *f, const std::string &file)
{
    const Libmount &m = lm();
    std::unique_ptr<libmnt_table, TableDeleter> tb(m.new_table());
    if (!tb)
        throw sys_error("parse `" + file + "`", ENOMEM);
    int bad_line = 0;
    m.table_set_userdata(tb.get(), &bad_line);
    m.table_set_parser_errcb(tb.get(), on_parse_error);
    int rc = m.table_parse_stream(tb.get(), f, file.c_str());
    if (bad_line)
        throw Error("parse `" + file + "`: line " + std::to_string(bad_line) + " is malformed",
                    EINVAL);
    if (rc < 0)
        throw sys_error("parse `" + file + "`", -rc);

    MountInfo mi;
    std::unique_ptr<libmnt_iter, IterDeleter> it(m.new_iter(MNT_ITER_FORWARD));
    if (!it)
        throw sys_error("parse `" + file + "`", ENOMEM);
    libmnt_fs *fs = nullptr;
    while (m.table_next_fs(tb.get(), it.get(), &fs) == 0) {
        MountEntry e;
        e.id = m.fs_get_id(fs);
        e.parent = m.fs_get_parent_id(fs);
        dev_t dev = m.fs_get_devno(fs);
        e.major = ::major(dev);
        e.minor = ::minor(dev);
        e.root = str_or_empty(m.fs_get_root(fs));
        e.mountpoint = str_or_empty(m.fs_get_target(fs));
        e.fstype = str_or_empty(m.fs_get_fstype(fs));
        e.source = str_or_empty(m.fs_get_source(fs));
        e.options = str_or_empty(m.fs_get_vfs_options(fs));
        e.super_options = str_or_empty(m.fs_get_fs_options(fs));
        e.propagation = str_or_empty(m.fs_get_optional_fields(fs));
        mi.entries_.push_back(std::move(e));
    }
    if (mi.entries_.empty())
        throw Error("parse `" + file + "`: no mounts in it", EINVAL);
    return mi;
}

const MountEntry *MountInfo::find_mount(std::string_view path) const
{
    std::string want = normalize_path(path);
    std::vector<const MountEntry *> stack;
    for (const auto &e : entries_) {
        if (e.mountpoint == want)
            stack.push_back(&e);
    }
    // Stacked mounts: the visible one is the one no other mount on the same path sits on.
    // mountinfo lists them in mount order, so the last such entry wins.
    const MountEntry *found = nullptr;
    for (const auto *e : stack) {
        bool covered = false;
        for (const auto *other : stack)
            covered = covered || other->parent == e->id;
        if (!covered)
            found = e;
    }
    return found;
}

const MountEntry *MountInfo::find_by_id(int id) const
{
    for (const auto &e : entries_) {
        if (e.id == id)
            return &e;
    }
    return nullptr;
}

}  // namespace urunc::rootfs
