"""What a checklist line means: the rules behind ``golive import``.

Each rule reads one line (its visible text, the code that belongs to it, the
headings above it) and may propose a check with parameters and a confidence.
Rules match meaning — keywords, numbers, units, paths, names in code — and
never the wording of a particular checklist, so "Minimum 4 vCPUs", "Host has
16 cores or more" and "CPUs >= 4" all become ``cpu min=N``.

A rule may offer several candidates (spellings of the same meaning); the
importer writes the first one the catalog accepts at run time.

Rules belong beside the checks they propose (``@proposes`` in the check's
module: TLS, endpoint, configuration, repository secrets, monitoring, CI
reports, containers and the other families keep theirs there). This module
holds the host and database rules until those families settle in their
packages, and the words that lower any proposal (:func:`adjust`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pytest_golive.checks.rules import (  # noqa: F401 - re-exported for the importer
    _NUMBER_WORDS,
    _NUMBERS,
    RULES,
    Line,
    Proposal,
    Rule,
    env_keys,
    rule,
)
from pytest_golive.checks.rules import (  # noqa: F401 - re-exported for the importer
    ABS_PATH as _ABS_PATH,
)
from pytest_golive.checks.rules import db_context as _db_context
from pytest_golive.checks.rules import has as _has
from pytest_golive.checks.rules import nearest_context as _nearest_context
from pytest_golive.checks.rules import paths as _paths


def propose_all(line: Line) -> list[Proposal]:
    """Every proposal any registered rule makes for ``line``, at the rule's own confidence.

    The catalog must be loaded first (``REGISTRY.names()``): check modules
    declare their rules when they are imported.
    """
    # Rules in a fixed order (module, name), not in the order their modules happened
    # to be imported: a tie between two rules is then decided the same way every run.
    ordered = sorted(RULES, key=lambda r: (r.module, r.func.__name__))
    return [p for p in (r.func(line) for r in ordered) if p is not None and p.candidates]


def propose(line: Line) -> Proposal | None:
    """The most confident proposal for ``line``, adjusted for words about people (None: manual)."""
    from pytest_golive.checks.registry import REGISTRY

    REGISTRY.names()  # load the catalog: its modules declare the rules
    found = propose_all(line)
    if not found:
        return None
    best = max(found, key=lambda p: p.confidence)
    best.confidence = round(max(0.0, min(1.0, best.confidence + adjust(line))), 2)
    return best


def names_one_test(line: Line) -> bool:
    """The line's code runs one test script of the team's (``python test_login.py``)."""
    return bool(_NAMED_SCRIPT.search(line.code))


def adjust(line: Line) -> float:
    """How much words about a person's work, or a condition, lower any proposal for ``line``."""
    return _adjust(line)


#: Words that make a line about a person's work (a document, a decision, a
#: meeting), which no check can observe even when a technical word appears.
_HUMAN = re.compile(
    r"\b(documented|plan(ned)?|review(ed)?|train(ed|ing)|notif(y|ied)|approv(e|ed|al)|"
    r"sign(ed)?[- ]?off|agreed|defined|communicated|procedures?|strategy|"
    r"stakeholders?|tested manually|drill|meeting|obtained and tested|identified|prepared|"
    r"bugs?|complaints?|feedback|adjust|tune|tuning|optimi[sz]e|knows?|aware(ness)?|proofread|"
    r"on-?call|rota|escalation)\b"
)
#: Words about a history or a period of watching, which a check of the present cannot see.
_OVER_TIME = re.compile(
    r"\b(no gaps|gaps in|over time|trends?|for the (first|next|last) \d+ ?(hours|days|h)|"
    r"for \d+ ?(hours|h)|during)\b"
)
#: A test script of the team's, named on the line: a whole-report check cannot tell that one ran.
_NAMED_SCRIPT = re.compile(
    r"(^|\s)(python3?|bash|sh|node|\./)\s*[\w./-]*test[\w./-]*", re.MULTILINE
)
_CONDITIONAL = re.compile(r"\((if|when|optional)\b|\bif (using|needed|applicable)\b")
_WATCH = re.compile(
    r"\b(alerts?|alerting|dashboards?|monitor(ed|ing)?|trend|over time|for \d+ hours)\b"
)


def _adjust(line: Line) -> float:
    # Identifiers (TABLE_NAMES, `code`) are names, not words about the work.
    text = re.sub(r"`[^`]*`|\b[A-Z][A-Z0-9_]+\b", " ", line.marked).lower()
    delta = 0.0
    if _HUMAN.search(text):
        delta -= 0.4
    if _OVER_TIME.search(text):
        delta -= 0.4
    if _CONDITIONAL.search(text):
        delta -= 0.05
    return delta


_SIZE = r"(\d+(?:[.,]\d+)?)\s*(tb|tib|gb|gib|g|mb|mib)\b"
_NOT_CAPACITY = r"usage|utili[sz]|leak|threshold|spike|alert|consum|pressure|normal|stable|%"


def _gib(number: str, unit: str) -> str:
    value = float(number.replace(",", "."))
    unit = unit.lower()
    if unit.startswith("t"):
        value *= 1024
    elif unit.startswith("m"):
        value /= 1024
    return f"{value:g}"


def _near_number(text: str, word: str, tail: str, window: int = 30) -> re.Match[str] | None:
    """A number (with ``tail``) within ``window`` characters after or before ``word``."""
    after = re.search(rf"{word}[^\d\n]{{0,{window}}}?{tail}", text, re.IGNORECASE)
    before = re.search(rf"{tail}[^\d\n]{{0,{window // 2}}}?{word}", text, re.IGNORECASE)
    return before or after


# hosts: capacity --------------------------------------------------------------------

_CPU = r"(?<![.\w])(?:v?cpus?|cores?|processors?|vcores?|threads?)(?![.\w])"


@rule
def _cpu(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(rf"\b{_CPU}\b", t) or _has(_NOT_CAPACITY, t):
        return None
    m = re.search(
        rf"(\d+)[\s-]*\+?\s*(?:x\s*)?(?:physical\s+|logical\s+|virtual\s+|cpu\s+)?{_CPU}\b", t
    )
    m = m or re.search(rf"\b{_CPU}\b[^\d\n]{{0,25}}?(\d+)(?!\s*(?:ghz|mhz|\.\d|%))", t)
    if not m:
        if _has(r"sufficient|enough|minimum|at least|resources", t):
            return Proposal([("cpu", {"min": "${min_cpus}"})], 0.7,
                            "CPU requirement without a number: the count is a variable")
        return None
    return Proposal([("cpu", {"min": m.group(1)})], 0.9, f"CPU count {m.group(1)}")


@rule
def _memory(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\b(ram|memory|mem)\b", t) or _has(_NOT_CAPACITY, t):
        return None
    m = _near_number(t, r"\b(?:ram|memory|mem)\b", _SIZE)
    if not m:
        if _has(r"sufficient|enough|minimum|at least|resources", t):
            return Proposal(
                [("memory", {"min_gib": "${min_memory_gib}"})],
                0.7,
                "memory requirement without a size: the size is a variable",
            )
        return None
    number, unit = m.group(1), m.group(2)
    return Proposal(
        [("memory", {"min_gib": _gib(number, unit)})], 0.9, f"memory {number} {unit.upper()}"
    )


_DISK = r"\b(?:disks?|storage|ssd|hdd|nvme|volumes?|drives?|space|partitions?|file ?systems?)\b"
@rule
def _disk(line: Line) -> Proposal | None:
    t = line.lower
    free = bool(_has(r"\b(free|available|left|remaining|headroom|spare)\b", t))
    paths = _paths(line.title)
    if not (_has(_DISK, t) or (free and paths and re.search(_SIZE, t))) or _has(
        r"usage|utili[sz]|%|alert|threshold", t
    ):
        return None
    if _has(r"\b(ram|memory)\b", t):
        return None
    path = paths[0] if paths else "/"
    guessed = () if paths else ("path=/",)
    m = _near_number(t, _DISK, _SIZE, 40) if _has(_DISK, t) else re.search(_SIZE, t)
    if not m:
        if _has(r"sufficient|enough|minimum|at least|space", t):
            check = (
                "disk_size" if _has(r"allocat\w*|size|capacity|provision\w*", t) else "disk_free"
            )
            var = "min_disk_gib" if check == "disk_size" else "min_free_gib"
            return Proposal(
                [(check, {"path": path, "min_gib": f"${{{var}}}"})],
                0.7,
                "disk requirement without a size: the size is a variable",
                guessed,
            )
        return None
    size = _gib(m.group(1), m.group(2))
    params = {"path": path, "min_gib": size}
    if free:
        return Proposal([("disk_free", params)], 0.85, f"free space {size} GiB", guessed)
    return Proposal([("disk_size", params)], 0.85, f"disk size {size} GiB", guessed)


# hosts: software --------------------------------------------------------------------

_DISTROS = {
    "ubuntu": r"ubuntu",
    "debian": r"debian",
    "rhel": r"rhel|red ?hat(?: enterprise linux)?",
    "centos": r"centos",
    "rocky": r"rocky(?: linux)?",
    "almalinux": r"alma(?:linux| linux)?",
    "amzn": r"amazon linux",
    "fedora": r"fedora",
    "sles": r"sles|suse",
    "ol": r"oracle linux",
}


def _os_versions(text: str) -> list[tuple[str, str, bool]]:
    """(distribution, version, or-later) triples named in ``text``."""
    found = []
    names = "|".join(f"(?P<{k}>{v})" for k, v in _DISTROS.items())
    for m in re.finditer(
        rf"\b(?:{names})\b((?:\s*(?:/|,|or|and)?\s*v?\d+(?:\.\d+)?\+?(?:\s*lts)?)*)", text, re.I
    ):
        distro = next(k for k in _DISTROS if m.group(k))
        versions = re.findall(r"(\d+(?:\.\d+)?)(\+)?", m.group(m.lastindex or 0) or "")
        if not versions:
            found.append((distro, "", False))
        for number, plus in versions:
            found.append(
                (distro, number, bool(plus) or bool(_has(r"or (later|newer|higher|above)", text)))
            )
    return found


@rule
def _os(line: Line) -> Proposal | None:
    found = _os_versions(line.title)
    if not found:
        return None
    distros = ",".join(dict.fromkeys(d for d, _, _ in found))
    minimums = {
        d: v for d, v, _ in reversed(found) if v
    }  # the lowest version named per distribution
    described = ", ".join(f"{d} {v}" if v else d for d, v, _ in found)
    if len(minimums) == 1 and len(set(d for d, _, _ in found)) == 1:
        version = next(iter(minimums.values()))
        return Proposal(
            [("os", {"distribution": distros, "min_version": version})],
            0.85,
            f"operating system {described}",
        )
    guessed = ("no min_version: the distributions name different versions",) if minimums else ()
    return Proposal(
        [("os", {"distribution": distros})], 0.8, f"operating system {described}", guessed
    )


_TOOLS = {
    "python3": r"python(?:3)?",
    "docker": r"docker(?![ -]?compose)(?: engine)?",
    "docker compose": r"docker[ -]compose",
    "node": r"node(?:\.?js)?",
    "java": r"java|openjdk|jdk|jre",
    "go": r"golang|go(?=\s+v?\d)",
    "ruby": r"ruby",
    "php": r"php",
    "nginx": r"nginx",
    "git": r"git",
    "kubectl": r"kubectl",
    "helm": r"helm",
    "terraform": r"terraform",
    "ansible": r"ansible",
    "openssl": r"openssl",
    "perl": r"perl",
    "rustc": r"rust(?:c)?",
    "dotnet": r"dotnet|\.net(?: core)?",
    "npm": r"npm",
    "pip": r"pip3?",
    "java_": r"maven|mvn",
}
_VERSION = r"v?(\d+(?:\.\d+){0,3})(\+|\s*(?:or|and)\s*(?:later|newer|higher|above|up))?"


#: A tool's subcommand or plugin ("docker buildx", "kubectl krew", "git lfs"): checked as
#: itself, so a parent printing its own version never passes for the plugin.
_PLUGIN = re.compile(r"\b(docker|podman|kubectl|helm|git|gh)[ -]"
                     r"(compose|buildx|scan|krew|lfs|diff|secrets|"
                     r"convert|kustomize)\b\W{0,3}(?:version\s*)?:?\s*" + r"v?(\d+(?:\.\d+){0,3})")


@rule
def _command_version(line: Line) -> Proposal | None:
    t = line.lower
    if _has(r"\b(mysql|mariadb|postgres(?:ql)?|redis|mongodb|tls|ssl|http/)\b", t):
        return None
    plugin = _PLUGIN.search(t)
    if plugin and plugin.group(2) != "compose":
        command = f"{plugin.group(1)} {plugin.group(2)}"
        return Proposal([("command_version", {"command": command, "min_version": plugin.group(3)})],
                        0.85, f"{command} version {plugin.group(3)}")
    for command, word in _TOOLS.items():
        m = re.search(rf"\b(?:{word})\b\W{{0,3}}(?:version\s*)?:?\s*{_VERSION}", t)
        if not m:
            continue
        number = m.group(1)
        if (
            "." not in number
            and not m.group(2)
            and not _has(r"version|installed|available|runtime|\blts\b|present", t)
        ):
            continue
        command = "mvn" if command == "java_" else command
        return Proposal(
            [("command_version", {"command": command, "min_version": number}),
             ("command_version", {"command": command, "min": number})],
            0.85, f"{command} version {number}",
        )
    return None


_KNOWN_PACKAGES = (
    "nginx", "apache2", "httpd", "haproxy", "curl", "openssl", "fail2ban", "ufw", "chrony", "ntp",
    "logrotate", "certbot", "supervisor", "rsync", "git", "unzip", "jq", "auditd", "clamav",
)


@rule
def _package(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\b(installed|present|available)\b", t) or _has(r"\bnot installed\b", t):
        return None
    named = re.search(r"\bpackages?\s+`?([a-z0-9][a-z0-9+._-]+)`?", t) or re.search(
        r"`([a-z0-9][a-z0-9+._-]+)`\s+packages?", t
    )
    if named and named.group(1) in (
        "installed",
        "present",
        "available",
        "are",
        "is",
        "and",
        "for",
        "from",
    ):
        named = None
    if named:
        return Proposal([("package", {"name": named.group(1)})], 0.75, f"package {named.group(1)}")
    names = [p for p in _KNOWN_PACKAGES if re.search(rf"(?<![\w/-]){re.escape(p)}(?![\w/-])", t)]
    if len(names) == 1 and not re.search(r"\w/\w|\bor\b|\beither\b", t):
        return Proposal([("package", {"name": names[0]})], 0.7, f"package {names[0]}")
    if not names and _has(r"\b(required|system|needed|all)\b.*\bpackages\b", t):
        return Proposal([("packages", {"names": "${system_packages}"})], 0.7,
                        "required packages: the list is a variable")
    if names or _has(r"\bpackages\b", t):
        return Proposal([("package", {})], 0.4, "which package? alternatives or no name given")
    return None


def _names_from_code(code: str, verbs: str) -> list[str]:
    return re.findall(rf"\b(?:{verbs})\b[^\n]*?\s([A-Za-z_][\w@.-]*)\s*$", code, re.MULTILINE)


@rule
def _user(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\b(users?|accounts?)\b", t) or not _has(
        r"\b(create[sd]?|exists?|present|added|set up|runs? as)\b", t
    ):
        return None
    if _has(r"\bprivileges?\b|permission|grant", t):
        return None
    if _has(
        r"\b(database|db|mysql|mariadb|postgres\w*|redis|sql|snowflake|iam|admin panel|cloud|"
        r"google|aws|gcp|azure)\b",
        t,
    ):
        return None
    if not _has(
        r"\b(application|app|service|system|dedicated|non-?root|unprivileged|daemon|run ?as)\b", t
    ):
        return None
    names = _names_from_code(line.code, "useradd|adduser") or re.findall(
        r"[`'\"]([a-z_][\w.-]*)[`'\"]", line.marked
    )
    if names:
        return Proposal([("user", {"name": names[0]})], 0.8, f"user {names[0]}")
    return Proposal(
        [("user", {"name": "${app_user}"})], 0.75, "application user: its name is a variable"
    )


_SERVICE_STATE = r"enabled|enable|auto-?start|on boot|running|started|active|up"


#: Daemons that are a host's own services, named as their units usually are.
_DAEMONS = {
    "nginx": "nginx",
    "apache2": "apache2",
    "httpd": "httpd",
    "haproxy": "haproxy",
    "fail2ban": "fail2ban",
    "chronyd": "chronyd",
    "chrony": "chronyd",
    "sshd": "sshd",
    "docker": "docker",
    "containerd": "containerd",
    "cron": "cron",
    "crond": "crond",
    "rsyslog": "rsyslog",
    "auditd": "auditd",
    "firewalld": "firewalld",
    "node_exporter": "node_exporter",
    "prometheus": "prometheus",
    "grafana": "grafana-server",
    "supervisor": "supervisor",
    "supervisord": "supervisord",
    "postfix": "postfix",
    "filebeat": "filebeat",
    "fluentd": "fluentd",
    "fluent-bit": "fluent-bit",
    "telegraf": "telegraf",
    "datadog-agent": "datadog-agent",
}


@rule
def _daemon(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\b(running|active|started|enabled|up and running)\b", t) or _has(
        r"\b(not|no longer|disabled|stopped)\b", t
    ):
        return None
    found = [
        unit
        for word, unit in _DAEMONS.items()
        if re.search(rf"(?<![\w/-]){re.escape(word)}(?![\w/-])", t)
    ]
    if len(found) == 1:
        return Proposal([("service", {"name": found[0]})], 0.7, f"service {found[0]} running")
    return None


@rule
def _service(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\b(systemd|services?|daemons?|units?)\b", t):
        return None
    if _has(
        r"\b(external|web ?service|soap|api|micro-?services?|service account|services? (is|"
        r"are) (reachable|healthy))\b",
        t,
    ):
        return None
    names = re.findall(r"([\w@-]+)\.service\b", line.title + "\n" + line.code)
    names = names or _names_from_code(
        line.code, r"systemctl\s+(?:enable|start|status|restart|is-active|is-enabled)(?:\s+--now)?"
    )
    names = names or re.findall(r"`([\w@.-]+)`", line.marked)
    enabled = bool(_has(r"enable|auto-?start|on boot|boot", t + " " + line.code))
    running = bool(_has(r"running|started|\bactive\b|\bstart\b|status", t + " " + line.code))
    if _has(r"\b(stopped|disabled|not running|masked)\b|restart polic\w*|restart=", t):
        return None
    if not names:
        if _has(rf"\b({_SERVICE_STATE}|created|configured)\b", t) and _has(r"systemd|services?", t):
            return Proposal(
                [("service", {"name": "${app_service}"})],
                0.65,
                "which service is the team's: its unit name is a variable",
            )
        return None
    # The service check requires running and enabled by default, which is what these lines mean.
    state = (
        " and ".join(w for w, on in (("enabled", enabled), ("running", running)) if on) or "present"
    )
    return Proposal([("service", {"name": names[0]})], 0.8, f"service {names[0]} {state}")


@rule
def _application_running(line: Line) -> Proposal | None:
    """"Application started": the team's service runs (its unit name is a variable)."""
    t = line.lower
    shape = (r"\W*(the )?(application|app|backend|api|worker|daemon)s?( service)?( is| are)? "
             r"(started|running|up( and running)?)( on \w+( \w+)?)?\W*")
    if not re.fullmatch(shape, t):
        return None
    return Proposal([("service", {"name": "${app_service}"})], 0.65,
                    "the application's service runs (its unit name is a variable)")


@rule
def _process(line: Line) -> Proposal | None:
    m = re.search(r"\bprocess\s+[`'\"]?([\w.-]+)[`'\"]?\s+(?:is\s+)?running\b", line.marked, re.I)
    if m:
        return Proposal([("process", {"name": m.group(1)})], 0.75, f"process {m.group(1)}")
    return None


@rule
def _port_listening(line: Line) -> Proposal | None:
    t = line.lower
    if _has(r"firewall|inbound|outbound|allow(ed)? from|rules?\b", t + " " + line.context.lower()):
        return None
    m = re.search(r"\b(?:listen(?:s|ing)?\s+on\s+(?:port\s+)?|port\s+)(\d{2,5})\b", t)
    if m and _has(r"listen|open|bound|accept", t):
        return Proposal(
            [("port_listening", {"port": m.group(1)})], 0.75, f"port {m.group(1)} listening"
        )
    if _has(r"\bports?\b.*\b(configured|open|listening|bound)\b", t):
        return Proposal(
            [("port_listening", {"port": "${app_port}"})],
            0.65,
            "the service listens on its port (a variable)",
        )
    return None


@rule
def _log_format(line: Line) -> Proposal | None:
    t = line.lower
    m = re.search(
        r"\b(json|structured|logfmt|plain[- ]text)\s+logging\b|\blog(?:ging)? format\b.*\b(json|"
        r"logfmt|text)\b",
        t,
    )
    if m and _has(r"enabled|configured|set|on\b|used", t):
        fmt = (m.group(1) or m.group(2) or "json").replace("structured", "json")
        return Proposal(
            [("env_value", {"key": "LOG_FORMAT", "equals": fmt})],
            0.45,
            "which setting turns it on? LOG_FORMAT is a guess",
            ("key=LOG_FORMAT",),
        )
    return None


@rule
def _reachable_from(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"reachable|accessible|connectivity|can connect|connection", t) or not _has(
        r"\bfrom\b", t
    ):
        return None
    if not _has(
        r"\bfrom (the )?(app\w*|application|web|each|all|every)?\s*(servers?|hosts?|nodes?|"
        r"machines?|instances?|workers?)\b",
        t,
    ):
        return None
    if not line.code and not re.search(r"https?://|:\d{2,5}\b", line.title):
        return None
    found = []
    for url in re.findall(r"https?://[^\s`'\")\]]+", line.title + "\n" + line.code):
        parts = urlsplit(url)
        if parts.hostname:
            found.append(
                f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
            )
    found += re.findall(
        r"\b((?:[a-z0-9-]+\.)+[a-z]{2,}:\d{2,5})\b", line.title + "\n" + line.code, re.I
    )
    found = list(dict.fromkeys(found))
    if len(found) == 1:
        return Proposal(
            [("tcp_reachable_from", {"to": found[0]})], 0.75, f"{found[0]} reachable from the hosts"
        )
    if found:
        # Every destination the line names must be reachable: one check each.
        return Proposal(
            [("tcp_reachable_from", {"to": found[0]})],
            0.75,
            f"{len(found)} destinations reachable from the hosts",
            also=[("tcp_reachable_from", {"to": d}) for d in found[1:]],
        )
    return None


@rule
def _time_sync(line: Line) -> Proposal | None:
    if _has(
        r"\b(ntpd?|chrony\w*|timesyncd|time[- ]?sync\w*|clock (is |in )?(sync\w*|drift)|"
        r"clocks? in sync)\b",
        line.lower,
    ):
        return Proposal([("time_sync", {})], 0.8, "time synchronisation")
    return None


@rule
def _sysctl(line: Line) -> Proposal | None:
    m = re.search(
        r"\b((?:vm|net|kernel|fs)\.[a-z0-9_.]+)\s*=\s*([\w.-]+)", line.title + " " + line.code, re.I
    )
    if m:
        return Proposal(
            [
                ("sysctl", {"name": m.group(1), "value": m.group(2)}),
                ("sysctl", {"key": m.group(1), "value": m.group(2)}),
            ],
            0.8,
            f"kernel parameter {m.group(1)}",
        )
    return None


@rule
def _mount(line: Line) -> Proposal | None:
    m = re.search(rf"{_ABS_PATH}\s+(?:is\s+)?mounted\b", line.title) or re.search(
        rf"\bmount(?:ed)?\s+(?:at|on)\s+{_ABS_PATH}", line.title, re.I
    )
    if m:
        return Proposal([("mount", {"path": m.group(1)})], 0.75, f"mount {m.group(1)}")
    return None


@rule
def _sshd(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\bssh", t):
        return None
    if _has(r"root login|permitrootlogin", t):
        return Proposal(
            [("sshd_config", {"permit_root_login": "no"}), ("sshd_config", {})],
            0.75,
            "sshd root login",
        )
    if _has(r"password auth\w*|passwordauthentication|key[- ]?(only|based)", t):
        return Proposal(
            [("sshd_config", {"password_authentication": "no"}), ("sshd_config", {})],
            0.75,
            "sshd password authentication",
        )
    if _has(r"harden\w*|configured|secured", t):
        return Proposal([("sshd_config", {})], 0.65, "sshd configuration")
    return None


@rule
def _logrotate(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\blog\w*\b.*\brotat\w*|\brotat\w*\b.*\blogs?\b|\blogrotate\b", t):
        return None
    rules = re.findall(r"^\s*(/\S+)\s*\{", line.code, re.MULTILINE)
    paths = rules or [p for p in _paths(line.title + "\n" + line.code) if re.search(r"log", p)]
    if not paths:
        return Proposal(
            [("logrotate", {"path": "${log_file}"})],
            0.7,
            "log rotation: the log file is a variable",
        )
    # A rule's glob (/opt/app/logs/*.log) stands for the files it rotates: name one of them.
    path = re.sub(r"\*", "app", paths[0])
    params = {"path": path}
    rotate = re.search(r"^\s*rotate\s+(\d+)", line.code, re.MULTILINE)
    if rotate:
        params["min_rotate"] = rotate.group(1)
    freq = re.search(r"^\s*(hourly|daily|weekly|monthly|yearly)\s*$", line.code, re.MULTILINE)
    if freq:
        params["frequency"] = freq.group(1)
    if re.search(r"^\s*compress\s*$", line.code, re.MULTILINE):
        params["compress"] = "true"
    guessed = (f"path={path} (a file the rule {paths[0]} covers)",) if "*" in paths[0] else ()
    return Proposal(
        [("logrotate", params), ("logrotate", {"path": path})], 0.85, "log rotation", guessed
    )


def _max_age_hours(text: str) -> tuple[str, bool]:
    if _has(r"hourly|every hour", text):
        return "2", False
    if _has(r"every night|every day", text):
        return "26", False
    if _has(r"weekly|every week", text):
        return "192", False
    if _has(r"monthly", text):
        return "768", False
    return "26", not _has(r"daily|nightly|every day|24 ?h", text)


@rule
def _backups(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\bbackups?\b|\bbacked up\b|\bsnapshots?\b|\bdumps?\b", t):
        return None
    if _has(
        r"restor\w*|retention|off-?site|replicat\w*|bucket|encrypt\w*|tested|test\b|"
        r"verify .*integrity",
        t,
    ):
        return None
    if not _has(
        r"schedul\w*|automat\w*|daily|nightly|hourly|weekly|running|completed|configured|enabled|"
        r"in place|implemented|successful|every (night|day|hour|week)|taken|recent",
        t,
    ):
        return None
    paths = _paths(line.title + "\n" + line.code)
    # A directory the line does not name is the team's: /var/backups is fresh on any Debian host.
    path = paths[0] if paths else "${backup_dir}"
    hours, hours_guessed = _max_age_hours(t + " " + " ".join(lines_below(line)))
    guessed = tuple(g for g, on in ((f"max_age_hours={hours}", hours_guessed),) if on)
    params = {"directory": path, "max_age_hours": hours}
    retention = re.search(
        r"(\d+)[- ]?days? retention|retention[^\d]{0,20}(\d+)[- ]?days?",
        " ".join(lines_below(line)),
    )
    if retention:
        params["retention_days"] = retention.group(1) or retention.group(2)
    return Proposal(
        [("newest_file_age", params)], 0.75 if paths else 0.7, "backups are recent", guessed
    )


def lines_below(line: Line) -> list[str]:
    """Words that a group parent's children add (filled in by :func:`decide`)."""
    return line.children_text


@rule
def _backup_retention(line: Line) -> Proposal | None:
    t = line.lower
    m = re.search(
        r"(\d+)[- ]?days?\b.*\bretention|\bretention\b[^\d]{0,20}(\d+)[- ]?days?|\b(?:keep\w*|"
        r"kept)\b.*?(\d+)[- ]?days?",
        t,
    )
    about_backups = _has(r"backup|dump|snapshot", t) or _has(
        r"backup|dump|snapshot", _nearest_context(line)
    )
    if not about_backups:
        return None
    if not m:
        if _has(r"\bretention\b", t) and not _has(r"off-?site|replicat\w*|restor\w*", t):
            return Proposal([("newest_file_age", {"directory": "${backup_dir}",
                                                  "retention_days": "${backup_retention_days}"})],
                            0.7, "the oldest backup shows the retention (days are a variable)")
        return None
    days = m.group(1) or m.group(2) or m.group(3)
    paths = _paths(line.title)
    path = paths[0] if paths else "${backup_dir}"
    guessed: tuple[str, ...] = ()
    return Proposal([("newest_file_age", {"directory": path, "retention_days": days})], 0.7,
                    f"backups kept {days} days", guessed)


@rule
def _cron(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\b(cron(job|tab)?|systemd timer|timer unit|scheduled job)\b", t) or _has(
        r"backup", t
    ):
        return None
    m = re.search(r"[`'\"]([\w@.-]+)[`'\"]", line.marked)
    if m:
        return Proposal(
            [("cron_or_timer", {"command": re.escape(m.group(1))})],
            0.7,
            f"scheduled job {m.group(1)}",
        )
    return Proposal([("cron_or_timer", {})], 0.45, "which job? add command=REGEX")


# files and permissions ---------------------------------------------------------------

_MODE = r"\b(0?[0-7]{3,4})\b"


@rule
def _file_mode(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"permissions?|\bmode\b|chmod|readable", t + " " + line.code):
        return None
    if _db_context(line, own_only=True) or _has(
        r"\b(iam|roles?|service|grants?|users?|accounts?)\b", t
    ):
        return None
    if not _has(
        r"\bfiles?\b|chmod|\bdirector(y|ies)\b|\bfolders?\b|\bdirs?\b|" + _MODE, t + " " + line.code
    ):
        return None
    if _has(r"\bdirector(y|ies)\b|\bdirs?\b|\bfolders?\b", t):
        return _directory_permissions(line)
    chmod = re.search(rf"chmod\s+(?:-\w+\s+)?{_MODE[2:-2]}\s+(\S+)", line.code)
    mode = re.search(_MODE, t)
    paths = _paths(line.title) or re.findall(
        r"[`'\"]?(\.env[\w.]*|[\w./-]+\.(?:pem|key|env|conf|cfg|ini|toml|yaml|yml))[`'\"]?",
        line.title,
    )
    if chmod:
        return Proposal(
            [("file", {"path": chmod.group(2), "mode": chmod.group(1).zfill(4)})],
            0.8,
            "file mode from chmod",
        )
    if mode:
        digits = mode.group(1).lstrip("0").zfill(3)
        candidates: list[tuple[str, dict[str, str]]] = []
        if paths and paths[0].startswith("/"):
            # A named absolute path on a host: its exact mode.
            candidates.append(("file", {"path": paths[0], "mode": digits.zfill(4)}))
        # Otherwise the configured file targets (.env and friends): no wider than this mode.
        candidates.append(("file_mode", {"max": digits}))
        return Proposal(candidates, 0.75, f"file mode {digits}")
    if _has(r"\b(set|correct\w*|configured|in place|restricted)\b", t):
        return Proposal(
            [("file_mode", {})], 0.65, "file permissions: the configured files are owner-only"
        )
    return Proposal([("file_mode", {})], 0.35, "file permissions: which file and which mode?")


def _directory_permissions(line: Line) -> Proposal:
    chmod = re.search(r"chmod\s+(?:-\w+\s+)?(0?[0-7]{3,4})\s+(\S+)", line.code)
    chown = re.search(r"chown\s+(?:-\w+\s+)?([\w.-]+)(?::([\w.-]+))?\s+(\S+)", line.code)
    path = (
        (chmod and chmod.group(2))
        or (chown and chown.group(3))
        or next(iter(_paths(line.title)), None)
    )
    if not path:
        writable = _has(r"writ\w*", line.lower)
        params = {"path": "${data_dir}"}
        if writable:
            params["writable_by"] = "${app_user}"
        return Proposal(
            [("directory_permissions", params), ("directory_permissions", {"path": "${data_dir}"})],
            0.65,
            "directory permissions: the directory is a variable",
        )
    params = {"path": path}
    if chmod:
        params["mode"] = chmod.group(1).zfill(4)
    if chown:
        params["owner"] = chown.group(1)
    full = dict(params)
    if chown and chown.group(2):
        full["group"] = chown.group(2)
    return Proposal(
        [
            ("directory_permissions", full),
            ("directory_permissions", params),
            ("directory_permissions", {"path": path}),
            ("file", {**full, "type": "directory"}),
        ],
        0.75,
        f"directory {path}",
    )


@rule
def _file_present(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\b(present|exists?|in place|deployed|installed)\b", t) or not _has(
        r"\bfiles?\b|\bconfig", t
    ):
        return None
    paths = _paths(line.title)
    if paths:
        return Proposal([("file", {"path": paths[0]})], 0.7, f"file {paths[0]}")
    return None


_RELATIVE_FILE = re.compile(
    r"`?((?:[\w.-]+/)*[\w-]+\.(?:config|conf|cfg|ini|toml|ya?ml|json|env|xml|properties|pem|crt))`?"
)


@rule
def _relative_file(line: Line) -> Proposal | None:
    """A file named relative to the application.

    ("IMS_Configs/ONE.config" under "Config files present").
    """
    t = line.lower
    said = t + " " + _nearest_context(line)
    if not _has(r"\b(present|exists?|in place|deployed|installed|created|available)\b", said):
        return None
    m = _RELATIVE_FILE.fullmatch(line.title.strip()) or _RELATIVE_FILE.search(line.marked)
    if not m or m.group(1).startswith("/") or _has(r"\.env\b", m.group(1)):
        return None
    return Proposal([("file", {"path": "${app_dir}/" + m.group(1)})], 0.7,
                    f"{m.group(1)} under the application's directory (a variable)")


@rule
def _virtualenv(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"virtual ?env\w*|\bvenv\b", t) or not _has(
        r"created|exists?|present|in place|set up", t
    ):
        return None
    if _has(r"tested|dependencies", t):
        return None
    m = re.search(r"-m\s+venv\s+(\S+)", line.code)
    where = (
        "${app_dir}/" + m.group(1)
        if m and not m.group(1).startswith("/")
        else (m.group(1) if m else "${venv_dir}")
    )
    return Proposal(
        [("file", {"path": f"{where}/bin/python"})],
        0.7,
        "the virtual environment's interpreter exists",
    )


@rule
def _usage(line: Line) -> Proposal | None:
    """CPU or memory in use below a budget now ("CPU usage normal (<70%)")."""
    t = line.lower
    kind = _has(r"\b(cpu|memory|ram)\s+(usage|utili[sz]ation|use)\b", t)
    if not kind or _has(r"alert|threshold|monitor|leak|spike|under load|trend|dashboard", t):
        return None
    check = "cpu_usage" if kind.group(1) == "cpu" else "memory_usage"
    m = re.search(r"(?:<|below|under|less than|at most|max(?:imum)?)\s*(\d+(?:\.\d+)?)\s*%", t)
    budget = (
        m.group(1)
        if m
        else ("${max_cpu_percent}" if check == "cpu_usage" else "${max_memory_percent}")
    )
    return Proposal(
        [(check, {"max_percent": budget})],
        0.7 if m else 0.65,
        f"{kind.group(1).upper()} in use below {budget}%",
    )


@rule
def _setting_configured(line: Line) -> Proposal | None:
    """A setting the application reads is set.

    ("Redis connection string configured", "API key generated").
    """
    t = line.lower
    m = re.search(
        r"\b((?:[a-z][\w-]*\s+){0,3}?(?:connection string|url|urls|dsn|username|api key|secret key|"
        r"secrets|secret|token|password))\s+(?:is\s+|are\s+)?(configured|set|generated|obtained|"
        r"provided|"
        r"defined|created|in place)\b",
        t,
    )
    if (
        not m
        or env_keys(line)
        or _has(r"\b(manager|vault|rotation|policy|policies|encrypt\w*)\b", t)
    ):
        return None
    words = [
        w
        for w in re.findall(r"[a-z0-9]+", m.group(1))
        if w not in ("the", "all", "production", "prod")
    ]
    name = "_".join(words[-4:])
    return Proposal(
        [("env_required", {"keys": f"${{{name}_key}}"})],
        0.65,
        f"the setting holding the {m.group(1)} is set (its key name is a variable)",
    )


@rule
def _sample_data(line: Line) -> Proposal | None:
    t = line.lower
    if _has(r"\b(sample|seed|test|reference|initial)\s+data\b", t) and _has(
        r"available|loaded|present|exists?|imported", t
    ):
        return Proposal(
            [("db_query", {"sql": "${sample_data_query}", "min_rows": "1"})],
            0.65,
            "a query returns rows (the query is a variable)",
        )
    return None


# databases ---------------------------------------------------------------------------

_UNSUPPORTED_DB = (
    r"\b(snowflake|oracle|mssql|sql server|mongodb|cassandra|dynamodb|bigquery|elasticsearch|s3)\b"
)


def _db_penalty(line: Line) -> float:
    return -0.35 if _has(_UNSUPPORTED_DB, line.lower) else 0.0


@rule
def _db_version(line: Line) -> Proposal | None:
    m = re.search(
        r"\b(mysql|mariadb|postgres(?:ql)?|redis)\b\W{0,3}(?:version\s*)?v?(\d+(?:\.\d+)*)(\+)?",
        line.lower,
    )
    if m:
        return Proposal(
            [("db_version", {"min": m.group(2)}), ("db_version", {"min_version": m.group(2)})],
            0.8,
            f"{m.group(1)} version {m.group(2)}",
        )
    return None


_DB_SETTINGS = (
    r"max_connections|innodb_\w+|wal_\w+|shared_buffers|work_mem|max_wal_\w+|sql_mode|"
    r"slow_query_log|long_query_time|max_allowed_packet|wait_timeout|log_bin|ssl|"
    r"require_secure_transport"
)


@rule
def _db_variable(line: Line) -> Proposal | None:
    t = line.lower
    m = re.search(
        r"\b([a-z]+(?:_[a-z0-9]+)+)\s*(>=|=>|<=|=<|==|=|>|<|at least|at most)\s*([\w.]+)", t
    )
    if not m or not (_db_context(line) or re.fullmatch(_DB_SETTINGS, m.group(1))):
        return None
    name, op, value = m.groups()
    if op in (">=", "=>", ">", "at least"):
        params = {"name": name, "min": value}
    elif op in ("<=", "=<", "<", "at most"):
        params = {"name": name, "max": value}
    else:
        params = {"name": name, "value": value}
    return Proposal([("db_variable", params)], 0.75, f"server setting {name}")


@rule
def _db_tables(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\btables?\b", t) or not _has(r"exists?|created|present|migrated|in place", t):
        return None
    if _has(r"\bindex(es)?\b|\bindices\b|\bcolumns?\b", t):
        return None
    names = re.findall(r"create\s+table\s+(?:if\s+not\s+exists\s+)?[`\"]?([\w.]+)", line.code, re.I)
    inside = re.search(r"\(([^)]*)\)", line.title)
    if not names and inside:
        names = [
            n
            for n in re.split(r"[,\s]+(?:and\s+)?", inside.group(1))
            if re.fullmatch(r"[A-Za-z_][\w.]*", n)
        ]
    names = names or re.findall(r"`([A-Za-z_][\w.]*)`", line.marked)
    if not names:
        listed = re.search(
            r"\btables?\s*:?\s+((?:[A-Za-z_][\w.]*\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)?)+)",
            line.title,
            re.I,
        )
        stop = {
            "created",
            "exist",
            "exists",
            "present",
            "migrated",
            "are",
            "is",
            "in",
            "the",
            "all",
            "required",
            "and",
        }
        names = [n for n in re.findall(r"[A-Za-z_][\w.]*", listed.group(1))] if listed else []
        names = [n for n in names if n.lower() not in stop]
    if not names:
        return Proposal([("db_tables", {})], 0.45, "which tables? add tables=A,B")
    return Proposal(
        [("db_tables", {"tables": ",".join(names)}), ("db_tables", {"names": ",".join(names)})],
        0.85 + _db_penalty(line),
        f"tables {', '.join(names)}",
    )


@rule
def _db_exists(line: Line) -> Proposal | None:
    t = line.lower
    if (
        not _has(r"\b(databases?|schemas?)\b", t)
        or not _has(r"created|exists?|present", t)
        or _has(r"\btables?\b|users?", t)
    ):
        return None
    names = re.findall(
        r"create\s+(?:database|schema)\s+(?:if\s+not\s+exists\s+)?[`\"]?(\w+)", line.code, re.I
    )
    names = names or re.findall(r"`(\w+)`", line.marked)
    if names:
        return Proposal(
            [("db_exists", {"name": names[0]}), ("db_exists", {"database": names[0]})],
            0.8 + _db_penalty(line),
            f"database {names[0]}",
        )
    return Proposal([("db_exists", {})], 0.7 + _db_penalty(line), "the configured database exists")


@rule
def _db_indexes(line: Line) -> Proposal | None:
    t = line.lower
    if not _has(r"\bindex(es)?\b|\bindices\b", t) or not _has(
        r"exists?|created|present|in place|added", t
    ):
        return None
    table = re.search(
        r"\b(?:on\s+(?:the\s+)?(?:table\s+)?|table\s+)`?([A-Za-z_][\w.]*)`?", line.marked
    )
    names = [
        n for n in re.findall(r"`([A-Za-z_]\w*)`", line.marked) if not table or n != table.group(1)
    ]
    if names and table:
        return Proposal(
            [("db_indexes", {"table": table.group(1), "indexes": ",".join(names)})],
            0.75 + _db_penalty(line),
            f"indexes on {table.group(1)}",
        )
    return Proposal([("db_indexes", {})], 0.4, "which table and indexes? add table= indexes=")


@rule
def _db_charset(line: Line) -> Proposal | None:
    m = re.search(r"\b(utf-?8mb4|utf-?8|latin1)\b", line.lower)
    if _has(r"charset|character set|collation|encoding|utf", line.lower) and _db_context(line):
        charset = m.group(1).replace("-", "") if m else "utf8mb4"
        return Proposal(
            [("db_charset", {"charset": charset}), ("db_charset", {})], 0.75, f"charset {charset}"
        )
    return None


_PRIVILEGES = (
    r"select|insert|update|delete|execute|usage|create|alter|drop|references|trigger|truncate"
)


def _named_privileges(line: Line) -> Proposal | None:
    """"only SELECT, INSERT on schema orders": the privileges and schemas named on the line."""
    m = re.search(rf"\b((?:(?:{_PRIVILEGES})\s*(?:,|and|&)?\s*)+)\s+on\s+(?:the\s+)?"
                  r"(?:schemas?|databases?)\s+`?([\w,.`\s]+?)`?(?:$|\s+(?:only|and)\b|[.;])",
                  line.title, re.IGNORECASE)
    if not m:
        return None
    privileges = ",".join(p.upper() for p in re.findall(_PRIVILEGES, m.group(1), re.IGNORECASE))
    schemas = ",".join(re.findall(r"\w+", m.group(2).replace("`", "")))
    params = {"privileges": privileges, "schemas": schemas}
    account = re.search(r"\b(?:account|user|role)\s+`?([\w.-]+)`?", line.title, re.IGNORECASE)
    if account and account.group(1).lower() not in ("holds", "has", "can"):
        params["account"] = account.group(1)
    return Proposal([("db_least_privilege", params)], 0.8, f"only {privileges} on {schemas}")


@rule
def _db_least_privilege(line: Line) -> Proposal | None:
    t = line.lower
    named = _named_privileges(line) if _has(r"\bonly\b", t) else None
    if named is not None:
        return named
    if not _has(
        r"least[- ]privilege|minimum (required )?(permissions|privileges)|minimal (permissions|"
        r"privileges)|"
        r"(correct|appropriate|limited|restricted) (permissions|privileges|grants)|no "
        r"superuser|not (a )?superuser|"
        r"roles and (permissions|privileges)|(permissions|privileges|grants) (configured|granted)",
        t,
    ):
        return None
    if not (_db_context(line) or _has(r"service account|user", t)):
        return None
    return _named_privileges(line) or Proposal(
        [("db_least_privilege", {"privileges": "${app_privileges}", "schemas": "${app_schemas}"})],
        0.7,
        "least privilege: the privileges and schemas the account may hold are variables",
    )


@rule
def _db_tls(line: Line) -> Proposal | None:
    t = line.lower
    if _has(r"\b(ssl|tls|encrypt\w* (connection|in transit))\b", t) and _db_context(line):
        return Proposal([("db_tls", {})], 0.8 + _db_penalty(line), "database connections use TLS")
    return None


@rule
def _db_replication(line: Line) -> Proposal | None:
    t = line.lower
    if (
        _has(r"replica\w*|replication", t)
        and _db_context(line)
        and not _has(r"backups?|off-?site", t)
    ):
        if _has(r"\blag\b|in sync|behind|delay", t):
            m = re.search(r"(\d+(?:\.\d+)?)\s*(ms|s|sec\w*|min\w*)\b", t)
            if m:
                seconds = (
                    float(m.group(1))
                    * {"m": 60}.get(m.group(2)[:1], 1)
                    / (1000 if m.group(2) == "ms" else 1)
                )
                return Proposal(
                    [("db_replication_lag", {"max_seconds": f"{seconds:g}"})],
                    0.8,
                    "replication lag",
                )
            return Proposal(
                [("db_replication_lag", {"max_seconds": "${max_replication_lag_s}"})],
                0.7,
                "replication lag: the budget is a variable",
            )
        return Proposal(
            [("db_replication_lag", {"max_seconds": "${max_replication_lag_s}"})],
            0.65,
            "replicas configured: a check sees them replicate, within a budget (a variable)",
        )
    return None


@rule
def _db_connect(line: Line) -> Proposal | None:
    t = line.lower
    if _has(r"alert|pool|issues?|normal|string|leak|credentials", t):
        return None
    engine = _has(r"\b(mysql|mariadb|postgres\w*|redis|database|db)\b", t)
    if engine and _has(
        r"\b(instance|server)\b.*\b(created|running|provisioned|available|installed|for)\b|"
        r"\b(local|running) (instance|server)\b",
        t,
    ):
        return Proposal(
            [("db_connect", {})], 0.65 + _db_penalty(line), "the database server answers"
        )
    if (
        engine
        and _has(r"\buser\b.*\bcreated\b", t)
        and not _has(r"privilege|permission|grant|role", t)
    ):
        return Proposal(
            [("db_connect", {})], 0.6 + _db_penalty(line), "the account exists: it can connect"
        )
    own = _db_context(line, own_only=True)
    if not own and not _db_context(line):
        return None
    if not _has(r"connect\w*|accessible|reachable|responding|\bup\b|available", t):
        return None
    if not own and not _has(r"connect\w*", t):
        return None
    if not _has(
        r"verified|successful|tested|works|working|accessible|reachable|established|responding|"
        r"ok\b|available|"
        r"can (connect|log ?in)",
        t,
    ):
        return None
    return Proposal(
        [("db_connect", {})], (0.75 if own else 0.65) + _db_penalty(line), "database reachable"
    )


def _redis(line: Line) -> bool:
    return bool(
        _has(r"\bredis\b|\baof\b|\brdb\b|appendonly", line.lower)
        or _has(r"\b(redis|cache)\b", _nearest_context(line))
    )


@rule
def _redis_checks(line: Line) -> Proposal | None:
    if not _redis(line):
        return None
    t = line.lower
    if _has(r"persist\w*|\baof\b|\brdb\b|appendonly|snapshot", t):
        aof, rdb = bool(_has(r"\baof\b|append-?only", t)), bool(_has(r"\brdb\b|snapshot", t))
        both = _has(r"\bboth\b|\band\b", t) and aof and rdb
        mode = "both" if both else "aof" if aof and not rdb else "rdb" if rdb and not aof else "any"
        params = {} if mode == "any" else {"mode": mode}
        return Proposal([("redis_persistence", params)], 0.85, f"Redis persistence ({mode})")
    if _has(r"password|\bauth\w*|requirepass|\bacl\b", t):
        return Proposal([("redis_auth_required", {})], 0.8, "Redis requires authentication")
    if _has(r"maxmemory|memory limit|eviction", t):
        return Proposal([("redis_maxmemory", {})], 0.8, "Redis memory limit")
    if _has(r"flushall|flushdb|dangerous|rename-command|\bconfig\b command", t):
        return Proposal(
            [("redis_dangerous_commands", {})], 0.8, "Redis dangerous commands disabled"
        )
    return None
