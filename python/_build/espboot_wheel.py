"""The shims' build backend (PEP 517): writes the wheel with the standard
library alone, so ``pip install ./python`` needs neither setuptools nor a
network (a fresh venv of Python 3.12 and later has pip but no setuptools).

The shims are pure Python modules: the wheel is a zip of the modules named
in pyproject.toml, the ``.dist-info`` (METADATA, WHEEL, entry_points.txt
for the console scripts) and the RECORD of hashes pip checks.
"""

import base64
import hashlib
import os
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _project():
    """The [project] table of pyproject.toml, with its scripts and the
    modules/packages the wheel carries ([tool.espboot-wheel])."""
    path = os.path.join(HERE, "pyproject.toml")
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        tomllib = None
    if tomllib is not None:
        with open(path, "rb") as f:
            data = tomllib.load(f)
        return data["project"], data["tool"]["espboot-wheel"]
    return _read_simple_toml(path)


def _read_simple_toml(path):
    """Before Python 3.11 (no tomllib): the few `key = value` lines of the
    tables used here, where values are strings or lists of strings."""
    import ast

    tables = {}
    current = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            # (whole-line comments only: the values here hold no `#`)
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                current = tables.setdefault(line.strip("[]").strip(), {})
                continue
            if current is None or "=" not in line:
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            try:
                current[key.strip('"')] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                current[key.strip('"')] = value
    project = dict(tables.get("project", {}))
    project["scripts"] = tables.get("project.scripts", {})
    return project, tables.get("tool.espboot-wheel", {})


def _dist_name(project):
    return project["name"].replace("-", "_")


def _metadata(project):
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    return "\n".join(lines) + "\n"


def _files(tool):
    """(archive name, path) of every module file the wheel carries."""
    out = []
    for module in tool.get("py-modules", []):
        out.append((f"{module}.py", os.path.join(HERE, f"{module}.py")))
    for package in tool.get("packages", []):
        directory = os.path.join(HERE, package)
        for name in sorted(os.listdir(directory)):
            if name.endswith(".py"):
                out.append((f"{package}/{name}", os.path.join(directory, name)))
    return out


def _dist_info(project):
    name = _dist_name(project)
    info = f"{name}-{project['version']}.dist-info"
    files = {
        f"{info}/METADATA": _metadata(project),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: espboot-wheel\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    scripts = project.get("scripts", {})
    if scripts:
        entries = "".join(f"{k} = {v}\n" for k, v in scripts.items())
        files[f"{info}/entry_points.txt"] = "[console_scripts]\n" + entries
    return info, files


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{name},sha256={digest.decode()},{len(data)}\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project, _ = _project()
    info, files = _dist_info(project)
    for name, text in files.items():
        path = os.path.join(metadata_directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project, tool = _project()
    info, meta = _dist_info(project)
    wheel = f"{_dist_name(project)}-{project['version']}-py3-none-any.whl"
    record = []
    # written under a temporary name, renamed once complete
    final = os.path.join(wheel_directory, wheel)
    partial = final + ".part"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, path in _files(tool):
            with open(path, "rb") as f:
                data = f.read()
            z.writestr(arcname, data)
            record.append(_record_line(arcname, data))
        for arcname, text in meta.items():
            data = text.encode("utf-8")
            z.writestr(arcname, data)
            record.append(_record_line(arcname, data))
        record.append(f"{info}/RECORD,,\n")
        z.writestr(f"{info}/RECORD", "".join(record))
    os.replace(partial, final)
    return wheel
