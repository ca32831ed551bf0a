"""Shared parts of the seed 003 benchmarks (scripts/bench-seed003,
scripts/bench-provision): seed 003's host-based ESP32-C3 flow (flash
encryption, then Secure Boot V2) as the seed types it, run with a given tool
set against a fresh virtual chip served by `espboot sim serve` on a PTY,
and the BENCHMARKS.md bookkeeping (machine facts, rewriting a section,
the index table).

Not a script: the benchmarks put scripts/ on sys.path and import it.
"""
import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import time

TICK = os.sysconf("SC_CLK_TCK")


def python_tools(venv):
    """The pinned Python tools under the names the seed types."""
    return {"esptool.py": f"{venv}/esptool", "espefuse.py": f"{venv}/espefuse",
            "espsecure.py": f"{venv}/espsecure"}


def espboot_links(espboot, work):
    """espboot's multi-call links under the names the seed types."""
    links = os.path.join(work, "links")
    os.makedirs(links, exist_ok=True)
    tools = {}
    for name in ("esptool.py", "espefuse.py", "espsecure.py"):
        path = os.path.join(links, name)
        if not os.path.lexists(path):
            os.symlink(espboot, path)
        tools[name] = path
    return tools


# Seed 003 (host-based), ESP32-C3, in the seed's order. PORT is the PTY.
# Made once per product, not per device: timed apart.
KEYGEN = "espsecure.py generate_signing_key --version 2 --scheme rsa3072 secure_boot_signing_key.pem"
HOST = [
    "espsecure.py generate_flash_encryption_key my_flash_encryption_key.bin",
    "espsecure.py digest_sbv2_public_key --keyfile secure_boot_signing_key.pem --output digest.bin",
    "espsecure.py sign_data --version 2 --keyfile secure_boot_signing_key.pem --output bootloader-signed.bin bootloader.bin",
    "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x0 --output bootloader-enc.bin bootloader-signed.bin",
    "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x8000 --output partition-table-enc.bin partition-table.bin",
    "espsecure.py encrypt_flash_data --aes_xts --keyfile my_flash_encryption_key.bin --address 0x10000 --output my-app-enc.bin my-app.bin",
]
EFUSE = [
    "espefuse.py --port PORT burn_key BLOCK_KEY0 my_flash_encryption_key.bin XTS_AES_128_KEY",
    "espefuse.py --port PORT --chip esp32c3 burn_efuse SPI_BOOT_CRYPT_CNT 7",
    "espefuse.py --port PORT burn_efuse DIS_DOWNLOAD_ICACHE 0x1 DIS_PAD_JTAG 0x1 DIS_USB_JTAG 0x1 DIS_DIRECT_BOOT 0x1 DIS_DOWNLOAD_MANUAL_ENCRYPT 0x1",
    "espefuse.py -p PORT write_protect_efuse RD_DIS",
    "espefuse.py --port PORT --chip esp32c3 burn_key BLOCK_KEY1 digest.bin SECURE_BOOT_DIGEST0",
    "espefuse.py --port PORT --chip esp32c3 burn_efuse SECURE_BOOT_EN",
    "espefuse.py --port PORT --chip esp32c3 burn_efuse SECURE_BOOT_KEY_REVOKE1",
    "espefuse.py --port PORT --chip esp32c3 burn_efuse SECURE_BOOT_KEY_REVOKE2",
]
FLASH_ERASE = "esptool.py --port PORT erase_flash"
FLASH_WRITE = ("esptool.py --port PORT write_flash 0x0 bootloader-enc.bin "
               "0x8000 partition-table-enc.bin 0x10000 my-app-enc.bin")
LAST = "espefuse.py --port PORT burn_efuse ENABLE_SECURITY_DOWNLOAD"
# The seed flashes the encrypted files (step 5) before the security eFuses
# of step 6 (DIS_DOWNLOAD_MANUAL_ENCRYPT makes esptool refuse plaintext writes).
PORT_FLOW = [FLASH_ERASE] + EFUSE[:2] + [FLASH_WRITE] + EFUSE[2:] + [LAST]

# The build outputs the seed flashes, by the seed's file names: a 28 KiB
# bootloader, a partition table and a 1 MiB app.
INPUTS = [("bootloader.bin", 28 * 1024), ("partition-table.bin", 3072),
          ("my-app.bin", 1 << 20)]


def inputs(d, source=None):
    """Writes the seed's build outputs into `d`: copies of the files in
    `source` when given (real images, by the same names), else random bytes
    of INPUTS' sizes (the tools do not parse them)."""
    for name, size in INPUTS:
        if source is not None:
            shutil.copyfile(os.path.join(source, name), os.path.join(d, name))
        else:
            with open(os.path.join(d, name), "wb") as f:
                f.write(os.urandom(size))


def run(line, tools, cwd, port=None, efuse_file=None):
    """Runs one seed line with `tools`, `BURN` on stdin as a person types
    it; returns its wall seconds. With `efuse_file` an eFuse line runs on a
    virtual eFuse file (`--virt`) instead of the port."""
    words = line.split()
    argv = [tools[words[0]]] + words[1:]
    if efuse_file is not None:
        i = argv.index("--port") if "--port" in argv else argv.index("-p")
        argv[i:i + 2] = ["--virt", "--path-efuse-file", efuse_file]
        if "--chip" not in argv:
            argv[1:1] = ["--chip", "esp32c3"]
    argv = [port if w == "PORT" else w for w in argv]
    start = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, input=b"BURN\n", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{p.stdout.decode(errors='replace')}")
    return time.perf_counter() - start


def proc_cpu(pid):
    """User+system CPU seconds of a live process."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Served:
    """A fresh virtual ESP32-C3 (`sim new`) served on a PTY (`sim serve`);
    `cpu()` is the server's CPU seconds since it answered `ready`."""

    def __init__(self, espboot, d, name="dev", trace=False):
        self.dev = os.path.join(d, name)
        self.tty = os.path.join(d, f"{name}.tty")
        # stdout to a file, not a pipe nobody reads: `--trace` prints every
        # request there
        self.log = os.path.join(d, f"{name}.log")
        subprocess.run([espboot, "sim", "new", self.dev, "--target", "esp32c3"], check=True,
                       stdout=subprocess.DEVNULL)
        argv = [espboot, "sim", "serve", self.dev, "--pty", self.tty]
        if trace:
            argv.append("--trace")
        with open(self.log, "wb") as log:
            self.server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not open(self.log, "rb").read().startswith(b"ready"):
            if self.server.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"sim serve did not start: {open(self.log).read()!r}")
            time.sleep(0.01)
        self.cpu0 = proc_cpu(self.server.pid)

    def requests(self):
        """The requests a `--trace` server received, by command name."""
        counts = {}
        for m in re.finditer(rb"cmd ([A-Z_0-9]+)", open(self.log, "rb").read()):
            name = m.group(1).decode()
            counts[name] = counts.get(name, 0) + 1
        return counts

    def cpu(self):
        return proc_cpu(self.server.pid) - self.cpu0

    def stop(self):
        """Stops the server by its pid (it saves the device on SIGTERM)."""
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
        self.server.wait()


@contextlib.contextmanager
def served(espboot, d, name="dev", trace=False):
    s = Served(espboot, d, name, trace)
    try:
        yield s
    finally:
        s.stop()


def children_cpu():
    """User+system CPU seconds of the children waited for so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def port_flow(espboot, tools, d, keygen=True, source=None, client_cpu=None):
    """The whole seed over a PTY in the fresh directory `d`; returns (host
    s, port s, server CPU s, signing-key generation s). Without `keygen`
    the signing key must already be in `d` (made once per product). With
    a list `client_cpu`, the tools' CPU seconds over the host and port
    lines are appended to it."""
    inputs(d, source)
    key = run(KEYGEN, tools, d) if keygen else 0.0
    cpu0 = children_cpu()
    host = sum(run(l, tools, d) for l in HOST)
    with served(espboot, d) as s:
        port = sum(run(l, tools, d, port=s.tty) for l in PORT_FLOW)
        # before the server is waited for, which adds its CPU to the children's
        tools_cpu = children_cpu() - cpu0
        time.sleep(0.3)  # the server saves after the last hang-up
        cpu = s.cpu()
    if client_cpu is not None:
        client_cpu.append(tools_cpu)
    return host, port, cpu, key


def machine():
    """(CPU model, cores, 1-minute load average now)."""
    cpu = "unknown CPU"
    for l in open("/proc/cpuinfo"):
        if l.startswith("model name"):
            cpu = l.split(":", 1)[1].strip()
            break
    return cpu, os.cpu_count(), open("/proc/loadavg").read().split()[0]


def write_section(path, heading, section, index_row=None):
    """Replaces the section `## heading` of the Markdown file `path` with
    `section` (appended when missing); `index_row` (a table row) is added
    to the index table at the top when no row names the same script."""
    text = open(path).read()
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    if index_row is not None:
        script = index_row.rstrip(" |").rsplit("|", 1)[-1].strip()
        lines = text.split("\n")
        if not any(l.startswith("|") and script in l for l in lines):
            # after the last row of the first table
            first = next(i for i, l in enumerate(lines) if l.startswith("|"))
            end = first
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            lines.insert(end, index_row)
            text = "\n".join(lines)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
