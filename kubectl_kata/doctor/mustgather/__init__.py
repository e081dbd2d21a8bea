"""``doctor --from`` on a must-gather, and the pieces ``doctor diff`` shares. One job a module:

- :mod:`.layout`      which must-gather paths doctor uses and what each is (``oc adm inspect`` + the operator's);
                      pure
- :mod:`.walk`        the members doctor uses, walked safely within size caps (on :mod:`kubectl_kata.doctor.archive`),
                      and the cheap look that tells a must-gather directory apart;
- :mod:`.objects`     YAML -> cluster objects, redacted by :mod:`kubectl_kata.core.redact`;
- :mod:`.read`        all of it -> a :class:`MustGather` (:mod:`.model`);
- :mod:`.versions`    the operator's ``nodes/<node>/version`` -> NodeFacts;
- :mod:`.expectation` the expected versions offline (``--expected FILE`` or the nodes' consensus);
- :mod:`.notcollected` and :mod:`.analysis`: the pure analysis -> the report document.

Everything other code uses is importable from here.
"""
from __future__ import annotations

from kubectl_kata.doctor.archive import is_tarball as _is_tarball
from kubectl_kata.doctor.mustgather.analysis import analyse, analyse_mustgather, mustgather_scope
from kubectl_kata.doctor.mustgather.expectation import adapt_expectation, consensus_from_versions
from kubectl_kata.doctor.mustgather.layout import (CLUSTER_KINDS, KATACONFIG_CRD, MCO_NS, NOT_A_MUSTGATHER,
                                                   OPERATOR_FILES, OSC_NS, OSIMAGEURL_CM)
from kubectl_kata.doctor.mustgather.layout import relevant as _relevant
from kubectl_kata.doctor.mustgather.model import MustGather, MustGatherNode
from kubectl_kata.doctor.mustgather.notcollected import (CLUSTER_NEEDS, NODE_CHECKS_FROM_VERSION, NOT_COLLECTED,
                                                         restrict_cluster_findings)
from kubectl_kata.doctor.mustgather.objects import load_yaml
from kubectl_kata.doctor.mustgather.read import read_mustgather
from kubectl_kata.doctor.mustgather.versions import (VERSION_FILTER, arch_from_node, node_facts_from_versions,
                                                     node_facts_map, parse_version_file)
from kubectl_kata.doctor.mustgather.walk import (MAX_DECLARED_BYTES, MAX_ENTRIES, MAX_FILE_BYTES, MAX_READ_BYTES,
                                                 looks_like_mustgather)

__all__ = ["MustGather", "MustGatherNode", "read_mustgather", "looks_like_mustgather", "parse_version_file",
           "MAX_FILE_BYTES", "MAX_READ_BYTES", "MAX_ENTRIES", "MAX_DECLARED_BYTES", "NOT_A_MUSTGATHER",
           "VERSION_FILTER", "OPERATOR_FILES", "node_facts_from_versions", "node_facts_map", "arch_from_node",
           "analyse", "analyse_mustgather", "mustgather_scope", "adapt_expectation", "consensus_from_versions",
           "restrict_cluster_findings", "load_yaml", "CLUSTER_KINDS", "CLUSTER_NEEDS", "NODE_CHECKS_FROM_VERSION",
           "NOT_COLLECTED", "KATACONFIG_CRD", "MCO_NS", "OSC_NS", "OSIMAGEURL_CM", "_is_tarball", "_relevant"]
