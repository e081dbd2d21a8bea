"""Generate man/kubectl-kata.1 and one page per subcommand from the click definitions.

    python3 -m tools.manpages            # (re)write man/
    python3 -m tools.manpages --out DIR  # write elsewhere (the staleness test does this)

NAME, SYNOPSIS, the DESCRIPTION's first part and OPTIONS come from the click commands, so they
cannot drift from `--help`; the hand-written parts (more DESCRIPTION, EXIT STATUS, ENVIRONMENT,
FILES, EXAMPLES, SEE ALSO) are in tools/man_sections.py. Output is plain man(7) that
`mandoc -T lint` and `groff -ww -man` accept without a warning.
"""
from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import click  # noqa: E402

from tools import man_sections as hand  # noqa: E402

MAN_DIR = os.path.join(ROOT, "man")


# -- roff helpers --------------------------------------------------------------------------------
def esc(text: str) -> str:
    """Escape plain text for roff: backslashes, and dashes (so options copy-paste as ASCII)."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def inline(text: str) -> str:
    """Escape, then render `code` spans in bold."""
    parts = re.split(r"`([^`]+)`", text)
    out = []
    for i, part in enumerate(parts):
        out.append(f"\\fB{esc(part)}\\fR" if i % 2 else esc(part))
    return "".join(out)


def text_lines(text: str) -> List[str]:
    """Filled text as roff input lines: one sentence per line (man(7) style), no leading dot/quote."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z`(])", " ".join(text.split()))
    out = []
    for s in sentences:
        line = inline(s)
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return out


def paragraphs(doc: str) -> List[str]:
    """A click docstring as roff: paragraphs become .PP; `\\b` blocks stay unfilled."""
    out: List[str] = []
    for block in re.split(r"\n\s*\n", inspect.cleandoc(doc or "")):
        if not block.strip():
            continue
        out.append(".PP")
        if block.lstrip().startswith("\b"):
            out.append(".nf")
            for ln in block.lstrip()[1:].strip("\n").splitlines():
                ln = inline(ln.strip())
                out.append("\\&" + ln if ln.startswith((".", "'")) else ln)
            out.append(".fi")
        else:
            out.extend(text_lines(block))
    return out


def title(page: str) -> str:
    return page.upper()


# -- pages ---------------------------------------------------------------------------------------
def _option_lines(ctx: click.Context, param: click.Option) -> List[str]:
    names = []
    # short forms first; click builds the help option's names from a set, so its order is random
    for opt in sorted(param.opts, key=lambda o: o.startswith("--")) + list(param.secondary_opts):
        names.append(f"\\fB{esc(opt)}\\fR")
    head = ", ".join(names)
    if not param.is_flag and not param.count:
        if isinstance(param.type, click.Choice):
            head += " " + "|".join(f"\\fB{esc(c)}\\fR" for c in param.type.choices)
        else:
            metavar = param.metavar or param.type.name.upper()
            head += f" \\fI{esc(metavar)}\\fR"
    help_text = param.help or ""
    if param.show_default and param.default is not None and not param.is_flag:
        help_text += f" Default: `{param.default}`."
    if param.multiple and "repeatable" not in help_text:
        help_text += " May be repeated."
    return [".TP", head] + text_lines(help_text)


def _synopsis(cmd_path: str, cmd: click.Command, ctx: click.Context) -> List[str]:
    words = [f".B {esc(cmd_path)}"]
    args = []
    for p in cmd.get_params(ctx):
        if isinstance(p, click.Argument):
            meta = p.make_metavar().replace("[", "").replace("]", "").replace("...", "")
            if isinstance(p.type, click.Choice):
                args.append("|".join(f"\\fB{esc(c)}\\fR" for c in p.type.choices))
            else:
                args.append(f"\\fI{esc(meta)}\\fR")
    if isinstance(cmd, click.Group) and not cmd.invoke_without_command:
        rest = "[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]..."
    else:
        rest = "[\\fIOPTIONS\\fR]" + ("".join(" " + a for a in args))
    out = words + [rest]
    if isinstance(cmd, click.Group) and cmd.invoke_without_command:
        # a command that runs by itself and also has subcommands (doctor, doctor diff)
        for sub in cmd.list_commands(ctx):
            sub_cmd = cmd.get_command(ctx, sub)
            sub_ctx = click.Context(sub_cmd, info_name=sub, parent=ctx)
            out += [".br"] + _synopsis(f"{cmd_path} {sub}", sub_cmd, sub_ctx)
    return out


def subcommand_names() -> List[str]:
    """Pages below the root: every command, and "<command> <sub>" for the subcommands of a command group."""
    from kubectl_kata.cli import cli

    root_ctx = click.Context(cli, info_name="kubectl kata", **cli.context_settings)
    names = []
    for name in cli.list_commands(root_ctx):
        names.append(name)
        cmd = cli.get_command(root_ctx, name)
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd, info_name=name, parent=root_ctx)
            names += [f"{name} {sub}" for sub in cmd.list_commands(ctx)]
    return names


def command_for(name: Optional[str]):
    """(command, context, command path) of the root (None), a command or "<command> <sub>"."""
    from kubectl_kata.cli import cli

    ctx = click.Context(cli, info_name="kubectl kata", **cli.context_settings)
    cmd, path = cli, "kubectl kata"
    for word in (name or "").split():
        cmd = cmd.get_command(ctx, word)
        ctx = click.Context(cmd, info_name=word, parent=ctx, **cmd.context_settings)
        path += " " + word
    return cmd, ctx, path


def page_for(name: Optional[str]) -> str:
    """Roff source of kubectl-kata.1 (name None) or kubectl-kata-<name>.1."""
    from kubectl_kata import __version__
    from kubectl_kata.cli import COMMANDS, cli

    root_ctx = click.Context(cli, info_name="kubectl kata", **cli.context_settings)
    if name is None:
        cmd, ctx, page, cmd_path = cli, root_ctx, "kubectl-kata", "kubectl kata"
        summary = hand.ROOT_SUMMARY
    else:
        cmd, ctx, cmd_path = command_for(name)
        page = "kubectl-kata-" + name.replace(" ", "-")
        summary = (COMMANDS[name][1] if name in COMMANDS else cmd.get_short_help_str(200)).rstrip(".")
        summary = summary[0].lower() + summary[1:]
    sections = hand.SECTIONS[name or ""]
    out = [
        f'.\\" Generated by `python3 -m tools.manpages` from the click definitions and tools/man_sections.py.',
        '.\\" Do not edit: change the source and regenerate.',
        f'.TH {title(page)} 1 {hand.DATE} "kubectl\\-kata {esc(__version__)}" "User Commands"',
        ".SH NAME",
        f"{esc(page)} \\- {inline(summary)}",
        ".SH SYNOPSIS",
    ]
    out += _synopsis(cmd_path, cmd, ctx)
    if name is None:
        out += [".br", ".B oc kata", "[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]..."]
    out += [".SH DESCRIPTION"]
    out += paragraphs(cmd.help or "")
    for para in sections.get("description", []):
        out += [".PP"] + text_lines(para)
    if cmd is cli:
        out += [".SH COMMANDS"]
        for sub in cli.list_commands(root_ctx):
            out += [".TP", f"\\fB{esc(sub)}\\fR", inline(COMMANDS[sub][1]),
                    f"See \\fBkubectl\\-kata\\-{esc(sub)}\\fR(1)."]
    elif isinstance(cmd, click.Group):
        out += [".SH COMMANDS"]
        for sub in cmd.list_commands(ctx):
            ref = esc(f"kubectl-kata-{name}-{sub}".replace(" ", "-"))
            out += [".TP", f"\\fB{esc(sub)}\\fR", inline(cmd.get_command(ctx, sub).get_short_help_str(200)),
                    f"See \\fB{ref}\\fR(1)."]
    out += [".SH OPTIONS"]
    for param in cmd.get_params(ctx):
        if isinstance(param, click.Option) and not param.hidden:
            out += _option_lines(ctx, param)
        elif isinstance(param, click.Argument):
            meta = param.make_metavar().strip("[]. ")
            choices = ""
            if isinstance(param.type, click.Choice):
                choices = " One of: " + ", ".join(f"`{c}`" for c in param.type.choices) + "."
            text = sections.get("argument", meta)
            if isinstance(text, dict):   # one text per argument (doctor diff BEFORE AFTER)
                text = text.get(meta, meta)
            out += [".TP", f"\\fI{esc(meta)}\\fR"] + text_lines(text + choices)
    out += [".SH EXIT STATUS"]
    for code, meaning in sections["exit"]:
        out += [".TP", f"\\fB{code}\\fR"] + text_lines(meaning)
    out += [".SH ENVIRONMENT"]
    for var, meaning in sections.get("environment", hand.ENVIRONMENT):
        out += [".TP", f"\\fB{esc(var)}\\fR"] + text_lines(meaning)
    if sections.get("files", hand.FILES):
        out += [".SH FILES"]
        for path, meaning in sections.get("files", hand.FILES):
            out += [".TP", f"\\fI{esc(path)}\\fR"] + text_lines(meaning)
    out += [".SH EXAMPLES"]
    for comment, command in sections["examples"]:
        out += [".PP"] + text_lines(comment) + [".PP", ".RS 4", ".EX", esc(command), ".EE", ".RE"]
    out += [".SH SEE ALSO"]
    refs = [f"kubectl-kata-{n}".replace(" ", "-") for n in subcommand_names() if n != name]
    if name is not None:
        refs = ["kubectl-kata"] + refs
    refs += ["kubectl", "oc"]
    out.append(",\n".join(f"\\fB{esc(r)}\\fR(1)" for r in refs))
    for para in sections.get("see_also", []):
        out += [".PP"] + text_lines(para)
    cleaned: List[str] = []
    for line in out:  # a paragraph macro right after a section heading is redundant (mandoc warns)
        if line == ".PP" and cleaned and cleaned[-1].startswith(".SH "):
            continue
        cleaned.append(line)
    return "\n".join(cleaned) + "\n"


def generate(out_dir: str = MAN_DIR) -> Dict[str, str]:
    """Write every page into `out_dir`; return {file name: content}."""
    names = [None] + subcommand_names()
    pages = {}
    for name in names:
        file_name = ("kubectl-kata" if name is None else "kubectl-kata-" + name.replace(" ", "-")) + ".1"
        if (name or "") not in hand.SECTIONS:
            raise SystemExit(f"error: tools/man_sections.py has no hand-written sections for {name!r}")
        pages[file_name] = page_for(name)
    os.makedirs(out_dir, exist_ok=True)
    for old in os.listdir(out_dir):
        if old.endswith(".1") and old not in pages:
            os.remove(os.path.join(out_dir, old))
    for file_name, text in pages.items():
        with open(os.path.join(out_dir, file_name), "w", encoding="utf-8") as f:
            f.write(text)
    return pages


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m tools.manpages", description="Regenerate the man pages.")
    p.add_argument("--out", default=MAN_DIR, help="output directory (default: man/)")
    args = p.parse_args(argv)
    for file_name in generate(args.out):
        print(os.path.join(args.out, file_name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
