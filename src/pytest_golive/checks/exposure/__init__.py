"""Network exposure: what answers from where, what listens, what the firewall lets in.

Three views of one question ("is the database port exposed?"), each proven
differently:

* :func:`port_reachable` tries the connection from a vantage point, the
  runner (the pipeline's view) or a named host, and reports what happened:
  connected, refused, or no answer within the timeout (filtered);
* :func:`listening_ports` reads the host's listening sockets (``ss``) and
  fails on any port on a non-loopback address that is not in an allowed list,
  naming the process;
* :func:`firewall_policy` reads the host's packet filter (``nft -j list
  ruleset``, else ``iptables-save``, else ``ufw status verbose``) and judges
  its inbound default and the ports it accepts.

Observation and judgement are separate: each parser turns a command's output
into plain facts, and pure functions judge them (tested on captured output).
"""

from __future__ import annotations

# Importing the modules registers their checks and import rules.
from pytest_golive.checks.exposure.firewall import judge_firewall, read_ruleset
from pytest_golive.checks.exposure.listeners import Listener, judge_listeners, parse_ss
from pytest_golive.checks.exposure.ports import PortRule, parse_ports
from pytest_golive.checks.exposure.reachability import Probe, Reach, judge_reachability
from pytest_golive.checks.exposure.rules import (
    _firewall_rule,
    _not_exposed_rule,
    _ports_closed_rule,
)
from pytest_golive.checks.exposure.rulesets import (
    Ruleset,
    merge_iptables,
    parse_iptables_save,
    parse_nft_json,
    parse_ufw_status,
)

__all__ = [
    "Listener",
    "PortRule",
    "Probe",
    "Reach",
    "Ruleset",
    "_firewall_rule",
    "_not_exposed_rule",
    "_ports_closed_rule",
    "judge_firewall",
    "judge_listeners",
    "judge_reachability",
    "merge_iptables",
    "parse_iptables_save",
    "parse_nft_json",
    "parse_ports",
    "parse_ss",
    "parse_ufw_status",
    "read_ruleset",
]
