// spec: runc writes the plain config.json; with --unikernel urunc takes runc's default and
// turns it into a unikernel bundle (the com.urunc.unikernel.* annotations, validated against
// the guest and monitor registries, no terminal, the guest command line from --cmdline).
#include "container/verbs.hpp"

#include "base/error.hpp"
#include "base/rollback.hpp"
#include "base/subprocess.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "container/runc.hpp"
#include "oci/unikernel_config.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

namespace urunc::container {
using oci::RawCommand;
using oci::UnikernelConfig;
using oci::to_annotations;
using oci::validate;

namespace {

// runc spec into `bundle`, its stderr passed through. Throws on failure.
void runc_spec(const std::string &bundle, bool rootless)
{
    std::vector<std::string> args = {runc_binary(), "spec", "--bundle", bundle};
    if (rootless)
        args.push_back("--rootless");
    ProcessOptions o;
    o.out = ProcessOptions::Out::to_stderr;  // nothing of runc's on our stdout
    o.search_path = true;
    o.who = "urunc spec";
    if (!run_process(args, o).ok())
        throw Error("spec: `" + argv_to_string(args) + "` failed");
}

}  // namespace

int spec_command(const Globals &g, const RawCommand &c)
{
    if (!c.has("unikernel")) {
        for (const char *f :
             {"hypervisor", "binary", "initrd", "cmdline", "block", "unikernel-version"})
            if (c.has(f))
                throw Error(std::string("spec: --") + f + " needs --unikernel <type>");
        exec_runc(g.argv);
    }
    UnikernelConfig u;
    u.type = c.flag("unikernel").value_or("");
    u.hypervisor = c.flag("hypervisor").value_or("");
    u.binary = c.flag("binary").value_or("");
    u.initrd = c.flag("initrd").value_or("");
    u.cmdline = c.flag("cmdline").value_or("");
    u.block = c.flag("block").value_or("");
    u.version = c.flag("unikernel-version").value_or("");
    if (u.type.empty())
        throw Error("spec: --unikernel needs a unikernel type");
    if (u.hypervisor.empty())
        throw Error("spec: --unikernel needs --hypervisor <vmm>");
    if (u.binary.empty())
        throw Error("spec: --unikernel needs --binary <path inside the rootfs>");
    if (!c.unknown.empty())
        throw Error("spec: unknown flag " + c.unknown.front());
    validate(u);

    std::string bundle = c.flag("bundle").value_or(".");
    std::string config = join_path(bundle, "config.json");
    if (path_exists(config))
        throw Error("File " + config + " exists. Remove it first");
    runc_spec(bundle, c.has("rootless"));
    // runc's config.json is only the start: if it cannot be completed, none is left.
    Rollback undo("spec");
    undo.add([&] {
        ::unlink(config.c_str());
        return std::string();
    });
    rapidjson::Document d;
    std::string text = read_file(config);
    d.Parse(text.c_str(), text.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("process") || !d["process"].IsObject())
        throw Error("spec: runc wrote an unexpected `" + config + "`");
    auto &a = d.GetAllocator();
    auto &proc = d["process"];
    // The VMM's console is the container's stdio: no terminal unless the user asks.
    proc.RemoveMember("terminal");
    proc.AddMember("terminal", false, a);
    // The guest command line comes from the annotation (process.args would win).
    proc.RemoveMember("args");
    proc.AddMember("args", rapidjson::Value(rapidjson::kArrayType), a);
    // runc's default raises ambient capabilities without listing them inheritable, which
    // the kernel refuses (runc only warns); urunc applies what the spec says, so the
    // inheritable set gets the ambient ones.
    if (proc.HasMember("capabilities") && proc["capabilities"].IsObject()) {
        auto &caps = proc["capabilities"];
        if (caps.HasMember("ambient") && caps["ambient"].IsArray() &&
            !caps.HasMember("inheritable")) {
            rapidjson::Value inh(caps["ambient"], a);
            caps.AddMember("inheritable", inh, a);
        }
    }
    d.RemoveMember("annotations");
    rapidjson::Value ann(rapidjson::kObjectType);
    for (const auto &[k, v] : to_annotations(u))
        ann.AddMember(rapidjson::Value(k.c_str(), a), rapidjson::Value(v.c_str(), a), a);
    d.AddMember("annotations", ann, a);
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent('\t', 1);
    d.Accept(w);
    write_file_atomic(config, std::string_view(buf.GetString(), buf.GetSize()), 0644);
    undo.commit();
    return 0;
}

}  // namespace urunc::container
