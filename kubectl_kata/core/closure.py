"""Dependency closure of ``kata-containers`` (DOMAIN 4.5, 4.6).

Two uses:

- **installed**: BFS over the node's rpmdb (requires -> provides; file requires via the
  file-provides listing; rich deps evaluated), stopping at base packages when a base set is known.
- **expected**: the same BFS over the extensions repo's primary.xml for one architecture
  (``noarch`` + the arch). Requirements the repo cannot satisfy are reported (on a real repo they
  are normally provided by the base OS, which the repo does not carry).

Unsatisfied requirements are returned in :attr:`Closure.unsatisfied`, never raised.

Rich dependencies (rpm >= 4.13 boolean deps) are parsed into a small AST: ``and``, ``or``, ``with``,
``without``, ``if [else]``, ``unless [else]``, nested parentheses, versioned operands.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

from kubectl_kata.core.parse.errors import ParseError
from kubectl_kata.core.parse.rpmdb import Dep
from kubectl_kata.core.rpm import EVR, NEVRA, RPMSENSE_EQUAL, compare_evr, parse_flags, satisfies

__all__ = [
    "Pkg", "PackageIndex", "Closure", "Unsatisfied", "compute_closure", "expected_closure",
    "installed_closure", "parse_rich", "Simple", "BoolOp", "Cond", "MAX_RICH_LEN", "dep_from_text",
    "unprovided_by_base",
]

MAX_RICH_LEN = 4096
MAX_RICH_DEPTH = 32


# ---------------------------------------------------------------- packages and the provider index

@dataclass(frozen=True)
class Pkg:
    nevra: NEVRA
    provides: Tuple[Dep, ...] = ()
    requires: Tuple[Dep, ...] = ()
    files: Tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.nevra.name

    @property
    def arch(self) -> str:
        return self.nevra.arch

    @property
    def evr(self) -> EVR:
        return self.nevra.evr


class PackageIndex:
    """Answers "which packages provide this capability / own this file"."""

    def __init__(self, packages: Iterable[Pkg], file_owners: Optional[Mapping[str, Sequence[str]]] = None):
        self.packages: List[Pkg] = []
        self._by_name: Dict[str, List[Pkg]] = {}
        self._by_provide: Dict[str, List[Tuple[Pkg, Dep]]] = {}
        self._by_file: Dict[str, List[Pkg]] = {}
        for pkg in packages:
            self.packages.append(pkg)
            self._by_name.setdefault(pkg.name, []).append(pkg)
            provides = list(pkg.provides)
            self_provide = Dep(pkg.name, RPMSENSE_EQUAL, pkg.evr)
            if not any(p.name == pkg.name for p in provides):
                provides.append(self_provide)
            for dep in provides:
                self._by_provide.setdefault(dep.name, []).append((pkg, dep))
            for path in pkg.files:
                self._by_file.setdefault(path, []).append(pkg)
        if file_owners:
            for path, owners in file_owners.items():
                for owner in owners:
                    for pkg in self._by_name.get(owner, ()):
                        lst = self._by_file.setdefault(path, [])
                        if pkg not in lst:
                            lst.append(pkg)

    def file_owners(self) -> Dict[str, List[str]]:
        """path -> names of the packages that own it (from the file lists and the file-provides listing)."""
        return {path: [p.name for p in pkgs] for path, pkgs in self._by_file.items()}

    def by_name(self, name: str) -> List[Pkg]:
        return list(self._by_name.get(name, ()))

    def providers(self, dep: Dep) -> List[Pkg]:
        out: List[Pkg] = []
        for pkg, prov in self._by_provide.get(dep.name, ()):
            if pkg in out:
                continue
            prov_evr = prov.evr if prov.flags else None
            if satisfies(prov_evr, dep.flags, dep.evr, prov.flags or RPMSENSE_EQUAL):
                out.append(pkg)
        if dep.is_file:
            for pkg in self._by_file.get(dep.name, ()):
                if pkg not in out:
                    out.append(pkg)
        return out

    @classmethod
    def from_installed(cls, packages: Iterable[NEVRA], provides: Mapping[Tuple[str, str], Sequence[Dep]],
                       requires: Mapping[Tuple[str, str], Sequence[Dep]],
                       file_owners: Optional[Mapping[str, Sequence[str]]] = None) -> "PackageIndex":
        pkgs = []
        for nevra in packages:
            key = (nevra.name, nevra.arch)
            pkgs.append(Pkg(nevra, tuple(provides.get(key, ())), tuple(requires.get(key, ()))))
        return cls(pkgs, file_owners)

    @classmethod
    def from_repo(cls, repo_packages: Iterable, arch: str) -> "PackageIndex":
        """Repo packages (``RepoPackage``) for ``arch`` + noarch, newest EVR per name.arch."""
        best: Dict[Tuple[str, str], object] = {}
        for rp in repo_packages:
            if rp.arch not in (arch, "noarch"):
                continue
            key = (rp.name, rp.arch)
            cur = best.get(key)
            if cur is None or compare_evr(rp.evr, cur.evr) > 0:  # type: ignore[attr-defined]
                best[key] = rp
        pkgs = [Pkg(rp.nevra, tuple(rp.provides), tuple(rp.requires), tuple(rp.files))  # type: ignore[attr-defined]
                for rp in best.values()]
        return cls(pkgs)


# ---------------------------------------------------------------- rich dependency parsing

@dataclass(frozen=True)
class Simple:
    dep: Dep


@dataclass(frozen=True)
class BoolOp:
    op: str                      # and | or | with | without
    args: Tuple["RichNode", ...]


@dataclass(frozen=True)
class Cond:
    op: str                      # if | unless
    then: "RichNode"
    cond: "RichNode"
    otherwise: Optional["RichNode"] = None


RichNode = Union[Simple, BoolOp, Cond]
_BOOL_OPS = ("and", "or", "with", "without")
_COND_OPS = ("if", "unless")
_CMP = ("<=", ">=", "==", "<", ">", "=")


class _RichParser:
    def __init__(self, text: str):
        if len(text) > MAX_RICH_LEN:
            raise ParseError("rich dependency longer than %d characters" % MAX_RICH_LEN)
        self.s = text
        self.i = 0

    def error(self, msg: str) -> ParseError:
        return ParseError("rich dependency %r: %s at offset %d" % (self.s[:120], msg, self.i))

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def word(self) -> str:
        """A name/EVR token: ends at whitespace or at a ')' that closes nothing inside the token."""
        start = self.i
        depth = 0
        while self.i < len(self.s):
            c = self.s[self.i]
            if c.isspace():
                break
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            self.i += 1
        return self.s[start:self.i]

    def parse(self) -> RichNode:
        self.ws()
        node = self.group(0)
        self.ws()
        if self.i != len(self.s):
            raise self.error("trailing text")
        return node

    def group(self, depth: int) -> RichNode:
        if depth > MAX_RICH_DEPTH:
            raise self.error("nested too deeply")
        if self.i >= len(self.s) or self.s[self.i] != "(":
            raise self.error("expected '('")
        self.i += 1
        first = self.operand(depth)
        self.ws()
        if self.i < len(self.s) and self.s[self.i] == ")":
            self.i += 1
            return first   # "(a)" is just a
        op = self.word()
        if op in _BOOL_OPS:
            args = [first, self.operand(depth)]
            while True:
                self.ws()
                if self.i < len(self.s) and self.s[self.i] == ")":
                    self.i += 1
                    return BoolOp(op, tuple(args))
                nxt = self.word()
                if nxt != op:
                    raise self.error("cannot mix %r with %r without parentheses" % (op, nxt or "end"))
                if op == "without":
                    raise self.error("'without' takes exactly two operands")
                args.append(self.operand(depth))
        if op in _COND_OPS:
            cond = self.operand(depth)
            otherwise = None
            self.ws()
            if self.i < len(self.s) and self.s[self.i] != ")":
                kw = self.word()
                if kw != "else":
                    raise self.error("expected 'else' or ')'")
                otherwise = self.operand(depth)
                self.ws()
            if self.i >= len(self.s) or self.s[self.i] != ")":
                raise self.error("expected ')'")
            self.i += 1
            return Cond(op, first, cond, otherwise)
        raise self.error("unknown operator %r" % op)

    def operand(self, depth: int) -> RichNode:
        self.ws()
        if self.i >= len(self.s):
            raise self.error("unexpected end")
        if self.s[self.i] == "(":
            return self.group(depth + 1)
        name = self.word()
        if not name or name in _BOOL_OPS or name in _COND_OPS or name == "else":
            raise self.error("expected a dependency name")
        save = self.i
        self.ws()
        tok_start = self.i
        cmp = ""
        for c in _CMP:
            if self.s.startswith(c, self.i):
                cmp = c
                break
        if not cmp:
            self.i = save
            return Simple(Dep(name))
        self.i = tok_start + len(cmp)
        self.ws()
        ver = self.word()
        if not ver:
            raise self.error("missing version after %r" % cmp)
        return Simple(Dep(name, parse_flags(cmp), EVR.parse(ver)))


def parse_rich(text: str) -> RichNode:
    """Parse ``(a or (b >= 1 and c))`` into an AST; raises ParseError on malformed input."""
    return _RichParser(text.strip()).parse()


# ---------------------------------------------------------------- closure

@dataclass(frozen=True)
class Unsatisfied:
    package: str        # NEVRA of the requiring package
    requirement: str    # the requirement as rpm prints it
    reason: str = "nothing provides it"

    def to_dict(self) -> Dict[str, str]:
        return {"package": self.package, "requirement": self.requirement, "reason": self.reason}


@dataclass
class Closure:
    packages: Dict[str, Pkg] = field(default_factory=dict)     # name -> package, BFS order
    base_reached: Set[str] = field(default_factory=set)          # base package names reached (not traversed)
    unsatisfied: List[Unsatisfied] = field(default_factory=list)
    missing_roots: List[str] = field(default_factory=list)
    # rich ``or`` requirements met by another alternative: alternative name -> names of what satisfied it
    # (``(virtiofsd or qemu-virtiofsd)`` met by qemu-virtiofsd -> {"virtiofsd": ["qemu-virtiofsd"]})
    alternatives: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.unsatisfied and not self.missing_roots

    def nevras(self) -> Dict[str, NEVRA]:
        return {name: pkg.nevra for name, pkg in self.packages.items()}

    def to_dict(self):
        return {"packages": {n: str(p.nevra) for n, p in self.packages.items()},
                "base_reached": sorted(self.base_reached),
                "unsatisfied": [u.to_dict() for u in self.unsatisfied],
                "missing_roots": list(self.missing_roots),
                "alternatives": {k: list(v) for k, v in sorted(self.alternatives.items())}}


class _Resolver:
    def __init__(self, index: PackageIndex, base: Optional[Set[str]], installed_mode: bool):
        self.index = index
        self.base = base or set()
        self.installed_mode = installed_mode
        self.selected: Dict[str, Pkg] = {}
        self.alternatives: Dict[str, List[str]] = {}

    def _note_alternatives(self, node: BoolOp, chosen: List[Pkg]) -> None:
        names = sorted({p.name for p in chosen})
        for arg in node.args:
            if isinstance(arg, Simple) and arg.dep.name not in names:
                self.alternatives.setdefault(arg.dep.name, names)

    def best(self, candidates: List[Pkg], dep_name: str) -> Optional[Pkg]:
        if not candidates:
            return None

        def rank(p: Pkg):
            return (
                0 if p.name in self.selected and self.selected[p.name] == p else 1,
                0 if p.name in self.base else 1,
                0 if p.name == dep_name else 1,
            )
        ordered = sorted(candidates, key=lambda p: (rank(p), p.name))
        top = [p for p in ordered if rank(p) == rank(ordered[0]) and p.name == ordered[0].name]
        newest = top[0]
        for p in top[1:]:
            if compare_evr(p.evr, newest.evr) > 0:
                newest = p
        return newest

    def present(self, node: RichNode) -> bool:
        """Condition of if/unless: installed (installed mode) or already selected (repo mode)."""
        if isinstance(node, Simple):
            provs = self.index.providers(node.dep)
            if self.installed_mode:
                return bool(provs)
            return any(self.selected.get(p.name) == p or p.name in self.base for p in provs)
        if isinstance(node, BoolOp):
            if node.op == "or":
                return any(self.present(a) for a in node.args)
            return all(self.present(a) for a in node.args)
        ok = self.present(node.cond)
        if node.op == "unless":
            ok = not ok
        if ok:
            return self.present(node.then)
        return self.present(node.otherwise) if node.otherwise is not None else True

    def provider_set(self, node: RichNode) -> List[Pkg]:
        if isinstance(node, Simple):
            return self.index.providers(node.dep)
        if isinstance(node, BoolOp) and node.op in ("with", "without"):
            return self.eval_with(node)
        raise ParseError("'with'/'without' operands must be simple dependencies")

    def eval_with(self, node: BoolOp) -> List[Pkg]:
        first = self.provider_set(node.args[0])
        if node.op == "with":
            out = first
            for arg in node.args[1:]:
                other = self.provider_set(arg)
                out = [p for p in out if p in other]
            return out
        excluded = self.provider_set(node.args[1])
        return [p for p in first if p not in excluded]

    def eval(self, node: RichNode, dep_name: str) -> Tuple[bool, List[Pkg]]:
        if isinstance(node, Simple):
            chosen = self.best(self.index.providers(node.dep), node.dep.name)
            return (chosen is not None, [chosen] if chosen else [])
        if isinstance(node, BoolOp):
            if node.op in ("with", "without"):
                chosen = self.best(self.eval_with(node), dep_name)
                return (chosen is not None, [chosen] if chosen else [])
            if node.op == "and":
                pulled: List[Pkg] = []
                for arg in node.args:
                    ok, p = self.eval(arg, dep_name)
                    if not ok:
                        return False, []
                    pulled.extend(p)
                return True, pulled
            # or: first satisfiable alternative, preferring one already present
            results = [self.eval(arg, dep_name) for arg in node.args]
            for ok, p in results:
                if ok and all(self.selected.get(x.name) == x or x.name in self.base for x in p):
                    self._note_alternatives(node, p)
                    return True, p
            for ok, p in results:
                if ok:
                    self._note_alternatives(node, p)
                    return True, p
            return False, []
        ok = self.present(node.cond)
        if node.op == "unless":
            ok = not ok
        if ok:
            return self.eval(node.then, dep_name)
        if node.otherwise is not None:
            return self.eval(node.otherwise, dep_name)
        return True, []


def compute_closure(index: PackageIndex, roots: Sequence[str] = ("kata-containers",),
                    base: Optional[Iterable[str]] = None, installed_mode: bool = True,
                    unresolved_reason: str = "nothing provides it") -> Closure:
    """BFS from ``roots`` over ``index``. Base package names are reached but not traversed."""
    res = _Resolver(index, set(base) if base else None, installed_mode)
    closure = Closure()
    queue: deque = deque()
    for root in roots:
        cands = index.by_name(root)
        chosen = res.best(cands, root)
        if chosen is None:
            closure.missing_roots.append(root)
            continue
        res.selected[chosen.name] = chosen
        closure.packages[chosen.name] = chosen
        queue.append(chosen)
    # conditional deps (if/unless) are re-evaluated once the selection stops growing, so that in
    # repo mode a condition satisfied by a package selected later still takes effect
    conditional: List[Tuple[Pkg, Dep, RichNode]] = []

    def resolve(pkg: Pkg, dep: Dep, node: RichNode, final: bool) -> None:
        ok, pulled = res.eval(node, dep.name)
        if not ok:
            if final:
                closure.unsatisfied.append(Unsatisfied(str(pkg.nevra), str(dep), unresolved_reason))
            return
        for p in pulled:
            if p.name in res.base:
                closure.base_reached.add(p.name)
                continue
            if p.name in closure.packages:
                continue
            res.selected[p.name] = p
            closure.packages[p.name] = p
            queue.append(p)

    while True:
        while queue:
            pkg = queue.popleft()
            for dep in pkg.requires:
                if dep.name.startswith("rpmlib(") or dep.name.startswith("config("):
                    continue
                try:
                    node = parse_rich(dep.name) if dep.is_rich else Simple(dep)
                except ParseError as exc:
                    closure.unsatisfied.append(Unsatisfied(str(pkg.nevra), str(dep), "unparseable: %s" % exc))
                    continue
                if not installed_mode and _has_cond(node):
                    conditional.append((pkg, dep, node))
                    continue
                resolve(pkg, dep, node, final=True)
        before = len(closure.packages)
        for pkg, dep, node in conditional:
            resolve(pkg, dep, node, final=False)
        if len(closure.packages) == before:
            break
    for pkg, dep, node in conditional:   # final pass records what stays unsatisfied
        ok, _ = res.eval(node, dep.name)
        if not ok:
            closure.unsatisfied.append(Unsatisfied(str(pkg.nevra), str(dep), unresolved_reason))
    closure.alternatives = {k: v for k, v in res.alternatives.items() if k not in closure.packages}
    return closure


def _has_cond(node: RichNode) -> bool:
    if isinstance(node, Cond):
        return True
    if isinstance(node, BoolOp):
        return any(_has_cond(a) for a in node.args)
    return False


def installed_closure(index: PackageIndex, base: Optional[Iterable[str]] = None,
                      root: str = "kata-containers") -> Closure:
    return compute_closure(index, (root,), base, installed_mode=True)


def expected_closure(repo_packages: Iterable, arch: str, root: str = "kata-containers",
                     base: Optional[Iterable[str]] = None) -> Closure:
    """Closure over the extensions repo for ``arch``; requirements the repo cannot satisfy are listed
    in ``unsatisfied`` with reason "not in the repo (expected from the base OS)"."""
    index = PackageIndex.from_repo(repo_packages, arch)
    return compute_closure(index, (root,), base, installed_mode=False,
                           unresolved_reason="not in the repo (expected from the base OS)")


def dep_from_text(text: str) -> Dep:
    """A requirement as rpm prints it (``name``, ``name >= evr``, ``(a or b)``) back into a :class:`Dep`."""
    text = text.strip()
    if text.startswith("("):
        return Dep(text)
    parts = text.split()
    if len(parts) == 3:
        try:
            return Dep(parts[0], parse_flags(parts[1]), EVR.parse(parts[2]))
        except (ParseError, ValueError, KeyError):
            return Dep(text)
    return Dep(text)


_PROBE_ROOT = "kubectl-kata-repo-closure-check"


def unprovided_by_base(index: PackageIndex, base: Iterable[str], requirements: Sequence[Dep]) -> List[str]:
    """The ``requirements`` (of an extensions repo's closure) that none of the ``base`` packages in ``index`` (a
    node's rpmdb) provides -- rich deps evaluated -- as rpm prints them."""
    base_set = set(base)
    pkgs = [p for p in index.packages if p.name in base_set]
    root = Pkg(NEVRA.parse("%s-0-0.noarch" % _PROBE_ROOT), (), tuple(requirements))
    probe_index = PackageIndex(pkgs + [root], {path: [o for o in owners if o in base_set]
                                              for path, owners in index.file_owners().items()})
    clos = compute_closure(probe_index, (_PROBE_ROOT,), base=base_set, installed_mode=True)
    return [u.requirement for u in clos.unsatisfied if u.package.startswith(_PROBE_ROOT + "-")]
