"""Hand-written parts of the man pages (tools/manpages.py adds them to what click defines).

Per page (key "" = kubectl-kata.1, else the subcommand): extra DESCRIPTION paragraphs, EXIT STATUS,
ENVIRONMENT and FILES (defaults below), EXAMPLES (comment, command), and SEE ALSO notes. Text uses
`backticks` for literal words. Exit codes follow kubectl_kata/status.py and the README.
"""
from __future__ import annotations

DATE = "2025-11-26"

ROOT_SUMMARY = "enable, follow and diagnose OpenShift sandboxed containers (Kata) from kubectl or oc"

_CLUSTER = ("3", "Cluster error: no or bad kubeconfig, connection refused, TLS failure, 401, 403, timeout, 5xx, "
                 "or an API call was refused.")
_USAGE = ("2", "Usage error: a bad flag, argument or combination of flags.")
_INTERNAL = ("7", "Internal error, a bug in kubectl-kata: run again with `-v` and report the traceback.")
_INTERRUPTED = ("130", "Interrupted (Ctrl-C).")

ENVIRONMENT = [
    ("KUBECONFIG", "Colon-separated list of kubeconfig files, merged the way kubectl merges them (the first file "
                   "to set a value wins). `--kubeconfig` overrides it."),
    ("HTTPS_PROXY, NO_PROXY", "Proxy for the API server connection, as for kubectl."),
    ("NO_COLOR", "When set, output is never coloured (as with `--no-color`)."),
    ("TERM", "With `TERM=dumb` output is not coloured and progress is not redrawn in place."),
]
FILES = [
    ("~/.kube/config", "The kubeconfig used when neither `--kubeconfig` nor `KUBECONFIG` is given."),
]

SECTIONS = {
    "": {
        "description": [
            "kubectl-kata is a kubectl and oc plugin: installed as an executable named `kubectl-kata` on PATH "
            "(for example with krew), it runs as `kubectl kata` and `oc kata`. It creates the MachineConfig "
            "that layers the RHCOS `sandboxed-containers` extension, follows the MachineConfigPool rollout, "
            "creates the `kata` RuntimeClass, and diagnoses nodes. It does not compete with the OpenShift "
            "sandboxed containers operator: on a cluster the operator manages, `enable` and `disable` refuse "
            "and point to the KataConfig.",
            "Every subcommand accepts `-h` and `--help`. Shell completion of `kubectl kata` works with "
            "kubectl 1.26 or newer and with oc once the `kubectl_complete-kata` and `oc_complete-kata` "
            "executables shipped with the plugin are on PATH; see `kubectl-kata-completion`(1).",
        ],
        "exit": [
            ("0", "Success."),
            ("1", "Problems found (`doctor`)."),
            _USAGE, _CLUSTER,
            ("4", "A preflight check refused the change; nothing was modified."),
            ("5", "The rollout failed: a node or the render controller degraded."),
            ("6", "The rollout did not finish within `--timeout`; it carries on in the cluster."),
            _INTERNAL, _INTERRUPTED,
        ],
        "examples": [
            ("Enable sandboxed containers on the worker pool and follow the rollout:", "kubectl kata enable"),
            ("See where things stand:", "kubectl kata status"),
            ("Diagnose the nodes of the pool:", "oc kata doctor"),
        ],
    },
    "enable": {
        "description": [
            "Before changing anything, preflight checks refuse unsupported clusters: not OpenShift, an "
            "OpenShift release without the extension, an architecture without it, a cluster managed by the "
            "sandboxed containers operator, or a pool that is already degraded. Nothing is modified when a "
            "check refuses.",
            "Ctrl-C stops following the rollout, not the rollout itself: follow it again with "
            "`kubectl kata status --watch`.",
        ],
        "exit": [
            ("0", "Enabled: every node of the pool runs the extension and RuntimeClass `kata` exists (or, "
                  "with `--no-wait` or `--dry-run`, the objects were created or shown)."),
            _USAGE, _CLUSTER,
            ("4", "A preflight check refused; nothing was modified."),
            ("5", "The rollout failed: a node or the render controller degraded."),
            ("6", "The rollout did not finish within `--timeout`; it carries on in the cluster."),
            _INTERNAL,
            ("130", "Interrupted (Ctrl-C); the rollout carries on in the cluster."),
        ],
        "examples": [
            ("Enable on the worker pool:", "kubectl kata enable"),
            ("Show the objects that would be created, without contacting the cluster:",
             "kubectl kata enable --dry-run=client -o yaml"),
            ("Create a custom pool kata-oc from two nodes and enable it there:",
             "kubectl kata enable --create-pool kata-oc --nodes worker-0,worker-1"),
        ],
    },
    "disable": {
        "description": [
            "Only objects labelled `app.kubernetes.io/managed-by: kubectl-kata` are ever deleted. While pods "
            "with a kata RuntimeClass run on the pool it refuses unless `--force` is given.",
        ],
        "exit": [
            ("0", "Disabled (or nothing was enabled)."),
            _USAGE, _CLUSTER,
            ("4", "Refused: kata pods still run, or the objects belong to the sandboxed containers operator."),
            ("5", "The rollout failed: a node or the render controller degraded."),
            ("6", "The rollout did not finish within `--timeout`; it carries on in the cluster."),
            _INTERNAL,
            ("130", "Interrupted (Ctrl-C); the rollout carries on in the cluster."),
        ],
        "examples": [
            ("Disable and follow the rollout back:", "kubectl kata disable"),
            ("See what would be removed:", "kubectl kata disable --dry-run=client"),
        ],
    },
    "upgrade": {
        "description": [
            "upgrade classifies the install (operator, legacy RPM payload, kubectl-kata at a revision, operator "
            "left-overs, none) and prints a plan. A legacy OCP 4.6/4.7 kata-operator install is migrated to the "
            "extension: its namespaces, KataConfig, RuntimeClass and MachineConfig `50-kata-crio-dropin` are "
            "removed, the extension MachineConfig is created and the rollout followed as `enable` does, then "
            "RuntimeClass `kata` is created. Objects of an older kubectl-kata revision are re-rendered. Nothing "
            "is deleted that cannot be attributed to the legacy install or to kubectl-kata; an operator-managed "
            "install is refused.",
            "On a legacy install (or a migration from one still in progress) upgrade, --dry-run included, first "
            "looks for its host leftovers on the pool's nodes (one debug pod per node, read-only, as doctor) and "
            "prints the commands that remove each; a node that still has kata-runtime/kata-osbuilder layered stops "
            "the migration before anything is written (exit 4), and nodes that cannot be inspected (no oc or "
            "kubectl, forbidden, NotReady) stop it with exit 3. `--no-inspect-nodes` skips the inspection; the "
            "plan then says in a note what that risks. On the other install kinds nothing is inspected unless "
            "`--inspect-nodes` asks for it. `--clean-nodes` also runs the file removals after the plan, never "
            "package changes or reboots.",
            "The plan is confirmed on a terminal, or carried out with `--yes`. `--dry-run` prints the plan and "
            "a unified diff of every object and writes nothing. A re-run after an interruption or a failed API "
            "call finishes the job.",
            "With `--check` and `--to-version` or `--to-image`, the target release's extensions image is found "
            "with `oc adm release info` and its repo metadata read with `oc image extract`; for each node "
            "architecture of the kata pools the report says whether kata-containers and its dependencies are "
            "still shipped and how their versions change. Nothing is written and no pod is started.",
        ],
        "exit": [
            ("0", "Done, or nothing to do; with `--check`: the target is fine."),
            ("1", "With `--check`: a problem in the target (package gone for an architecture, extension name not "
                  "accepted)."),
            _USAGE,
            ("3", _CLUSTER[1] + " The nodes of a legacy install could not be inspected (pass "
                  "`--no-inspect-nodes` to go on without). With `--check`: the target could not be checked "
                  "(unknown version, release or image unreadable, oc missing)."),
            ("4", "Refused (operator-managed install, legacy packages still layered on a node) or not confirmed; "
                  "nothing was modified."),
            ("5", "The rollout failed: a node or the render controller degraded."),
            ("6", "The rollout did not finish within `--timeout`; it carries on in the cluster."),
            _INTERNAL,
            ("130", "Interrupted (Ctrl-C); run upgrade again to finish."),
        ],
        "examples": [
            ("See the plan and the diff, change nothing:", "kubectl kata upgrade --dry-run"),
            ("Migrate without asking:", "kubectl kata upgrade --yes"),
            ("List host leftovers per node and how to remove them (legacy install):", "kubectl kata upgrade --dry-run"),
            ("Migrate without looking at the nodes:", "kubectl kata upgrade --yes --no-inspect-nodes"),
            ("Check a target release before the cluster upgrades:", "kubectl kata upgrade --check --to-version 4.18.3"),
        ],
    },
    "status": {
        "description": [
            "With `-o json` or `-o yaml` the report is a stable document; its fields are described in the "
            "README.",
        ],
        "exit": [
            ("0", "The report was made, whatever it says."),
            _USAGE, _CLUSTER,
            ("5", "With `--watch`: the pool degraded."),
            ("6", "With `--watch`: the rollout did not finish within `--timeout`."),
            _INTERNAL, _INTERRUPTED,
        ],
        "examples": [
            ("One screen on the state of sandboxed containers:", "kubectl kata status"),
            ("Follow a rollout in progress:", "kubectl kata status --watch"),
            ("Machine-readable report:", "kubectl kata status -o json"),
        ],
    },
    "doctor": {
        "description": [
            "doctor starts one debug pod per node in a temporary namespace (`oc debug node` or `kubectl debug "
            "node`; or, with `--via daemonset` and by default above 20 nodes, one DaemonSet whose pods Kubernetes "
            "starts on every selected node at once), collects the node's facts in one run, and compares them with "
            "what the release's extensions image says should be installed. Nodes that cannot be probed are "
            "reported with the cause (image pull, scheduling, a pod the cluster refused to create with the "
            "DaemonSet controller's `FailedCreate` message, timeout...); the others are still diagnosed. With `--bundle` the raw collection is saved as a support "
            "bundle; `--from` analyses such a bundle later, offline.",
            "`--from` also reads a must-gather (`oc adm must-gather`, the default one and the sandboxed containers "
            "operator's, as the `must-gather.local.<n>` directory, any directory below it, or a `.tar.gz` of it). "
            "It runs every check the must-gather's data allows (cluster objects, each node's kata and QEMU "
            "packages from the operator's `nodes/<node>/version`) and reports every other check as "
            "`not collected` (severity info). Unsafe archives (absolute paths, `..`, links or special files "
            "where doctor reads, oversized files) are refused; nothing is extracted.",
            "`doctor diff BEFORE AFTER` compares two bundles or must-gathers; see `kubectl-kata-doctor-diff`(1).",
            "Reaching nodes needs permission to create namespaces and privileged debug pods (cluster-admin "
            "in practice). On air-gapped clusters pass a mirrored debug image with `--image`.",
        ],
        "exit": [
            ("0", "No problems found."),
            ("1", "Problems found, including nodes that could not be probed (they are reported)."),
            ("2", "Usage error, or an unreadable or unsafe support bundle or must-gather, or a path that is "
                  "neither."),
            ("3", "doctor could not run: cluster unreachable, or no node could be probed for lack of "
                  "permissions or tools."),
            _INTERNAL,
            ("130", "Interrupted (Ctrl-C); debug pods and the namespace are removed first."),
        ],
        "environment": ENVIRONMENT + [
            ("PATH", "`oc` (or, with `--via kubectl`, `kubectl`) is looked up here to start the debug pods."),
        ],
        "examples": [
            ("Diagnose the nodes of the pool kata is enabled on:", "oc kata doctor"),
            ("Diagnose two nodes and keep a support bundle:",
             "oc kata doctor --node worker-0 --node worker-1 --bundle kata-bundle.tar.gz"),
            ("Analyse a support bundle offline:", "kubectl kata doctor --from kata-bundle.tar.gz"),
            ("Analyse a customer's must-gather offline:", "kubectl kata doctor --from must-gather.local.5550001"),
        ],
    },
    "doctor diff": {
        "argument": {
            "BEFORE": "The earlier snapshot: a kubectl-kata support bundle (`.tar.gz` or its directory) or a "
                      "must-gather (the `must-gather.local.<n>` directory, a directory below it, or a `.tar.gz`).",
            "AFTER": "The later snapshot, in any of the same forms.",
        },
        "description": [
            "Each side is read and analysed as `doctor --from` would. A node's packages are compared as RPM "
            "versions (rpmvercmp, epoch first). A must-gather lists only the packages whose NVRA matches "
            "`kata-containers` or `qemu`, without epochs, and no kata binary versions or rpm-ostree state: "
            "against it, only what both sides have is compared, and a finding whose check was `not collected` "
            "on one side is listed as not comparable, never as new or resolved.",
        ],
        "exit": [
            ("0", "No differences."),
            ("1", "Differences: nodes changed, nodes on one side only, findings new or resolved, or the cluster "
                  "version changed."),
            ("2", "Usage error, or an unreadable or unsafe bundle or must-gather."),
            _INTERNAL, _INTERRUPTED,
        ],
        "examples": [
            ("What changed on the nodes between two support bundles:",
             "kubectl kata doctor diff before.tar.gz after.tar.gz"),
            ("A customer's must-gather against a bundle taken after the fix, as JSON:",
             "kubectl kata doctor diff must-gather.local.5550001 after.tar.gz -o json"),
        ],
    },
    "version": {
        "exit": [
            ("0", "The versions were printed."),
            _USAGE,
            ("3", "The cluster could not be asked (the plugin version is still printed)."),
            _INTERNAL,
        ],
        "examples": [
            ("Plugin, OpenShift and Kubernetes versions:", "kubectl kata version"),
            ("Only the plugin version, without contacting a cluster:", "kubectl kata version --client"),
        ],
    },
    "completion": {
        "argument": "The shell to print the script for.",
        "description": [
            "The helpers print one candidate per line followed by a `:4` directive line (the kubectl 1.26 "
            "plugin completion protocol). They complete subcommands, flags, flag values, pool names for "
            "`--pool` and node names for `--nodes` and `--node` (read from the cluster with a two-second "
            "limit; without a reachable cluster they complete nothing), and kubeconfig context, cluster and "
            "user names.",
            "krew installs only `kubectl-kata` on PATH; link the helpers from the krew store next to it "
            "(see the README).",
        ],
        "exit": [
            ("0", "The script was printed."),
            _USAGE,
        ],
        "environment": [
            ("KUBECONFIG", "Read by the completion helpers to list pools, nodes and contexts."),
        ],
        "examples": [
            ("Load bash completion for `kubectl-kata` and `oc-kata` in the current shell:",
             "source <(kubectl kata completion bash)"),
            ("Install zsh completion:",
             "kubectl kata completion zsh > \"${fpath[1]}/_kubectl-kata\""),
            ("Install fish completion:",
             "kubectl kata completion fish > ~/.config/fish/completions/kubectl-kata.fish"),
        ],
    },
}
