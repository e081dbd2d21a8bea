"""The fake `oc` beyond `debug`: image extract, adm release info, version --client.

Error wording follows oc (`pkg/cli/image/extract`, `pkg/cli/admin/release/info.go`); the repo
content comes from tests/nodesim.make_extensions_repo; the layout (repo under
/usr/share/rpm-ostree/extensions/, flat extensions.json one level up on 4.19+ only) is DOMAIN.md 1.5-1.6.
"""
import json
import os
import subprocess

from tests.nodesim import make_extensions_repo

EXT_IMAGE = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "ab" * 32
REPO_PATH = "/usr/share/rpm-ostree/extensions/"


def oc(*args):
    return subprocess.run(["oc"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30, check=False)


def test_release_info_and_image_extract(fake_oc, tmp_path):
    fake_oc.configure(release={"version": "4.16", "arch": "x86_64", "extensions_image": EXT_IMAGE})
    p = oc("adm", "release", "info", "--image-for=rhel-coreos-extensions")
    assert p.returncode == 0 and p.stdout == EXT_IMAGE + "\n"

    dst = tmp_path / "repo"
    dst.mkdir()
    p = oc("image", "extract", EXT_IMAGE, "--path", REPO_PATH + ":" + str(dst))
    assert p.returncode == 0, p.stderr
    ref = tmp_path / "ref"
    want = make_extensions_repo(str(ref), "4.16", "x86_64")
    assert sorted(os.listdir(dst)) == ["repodata"]  # 4.16: no flat manifest in the image
    assert sorted(os.listdir(dst / "repodata")) == sorted(os.listdir(ref / "repodata"))
    primary = os.path.basename(want["primary"])
    assert (dst / "repodata" / primary).read_bytes() == (ref / "repodata" / primary).read_bytes()

    # non-empty destination needs --confirm, like oc
    p = oc("image", "extract", EXT_IMAGE, "--path", REPO_PATH + ":" + str(dst))
    assert p.returncode == 1
    assert p.stderr == ("error: directory %s must be empty, pass --confirm to overwrite contents of directory\n"
                        % dst)
    p = oc("image", "extract", EXT_IMAGE, "--path", REPO_PATH + ":" + str(dst), "--confirm")
    assert p.returncode == 0


def test_flat_manifest_sits_above_the_repo(fake_oc, tmp_path):
    # 4.19+ layout; nodesim only models 4.14/4.16 package sets, so force the layout on 4.16 data
    full = make_extensions_repo(str(tmp_path / "full"), "4.16", "x86_64")["nevras"]
    dropped = sorted(full)[0]
    fake_oc.configure(images={EXT_IMAGE: {"release": "4.16", "arch": "x86_64", "without": [dropped],
                                          "flat_manifest": True}})
    dst = tmp_path / "share"
    dst.mkdir()
    p = oc("image", "extract", EXT_IMAGE, "--path", "/usr/share/rpm-ostree/:" + str(dst))
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(dst)) == ["extensions", "extensions.json"]
    assert sorted(os.listdir(dst / "extensions")) == ["repodata"]
    manifest = json.loads((dst / "extensions.json").read_text())
    assert set(manifest) == set(full) - {dropped}


def test_scenario_release_unknown_to_nodesim_is_a_clear_error(fake_oc, tmp_path):
    fake_oc.configure(images={EXT_IMAGE: {"release": "4.99", "arch": "x86_64"}})
    dst = tmp_path / "d"
    dst.mkdir()
    p = oc("image", "extract", EXT_IMAGE, "--path", REPO_PATH + ":" + str(dst))
    assert p.returncode == 2
    assert p.stderr.startswith("fake oc: scenario error: ") and "Traceback" not in p.stderr


def test_unknown_image_and_tag_fail_like_oc(fake_oc, tmp_path):
    fake_oc.configure(release={"extensions_image": EXT_IMAGE})
    dst = tmp_path / "d"
    dst.mkdir()
    p = oc("image", "extract", "quay.io/nope/nope:1", "--path", REPO_PATH + ":" + str(dst))
    assert p.returncode == 1
    assert p.stderr == "error: unable to read image quay.io/nope/nope:1: manifest unknown: manifest unknown\n"
    assert os.listdir(dst) == []
    p = oc("adm", "release", "info", "--image-for=rhel-coreos-10-extensions")
    assert p.returncode == 1
    assert p.stderr.startswith('error: no image tag "rhel-coreos-10-extensions" exists in the release image ')


def test_version_and_recorded_argv_never_hold_a_token(fake_oc):
    p = oc("--token=sha256~supersecretvalue", "version", "--client")
    assert p.returncode == 0
    assert p.stdout.startswith("Client Version: 4.16.")
    [inv] = fake_oc.invocations("oc")
    assert inv["argv"] == ["oc", "--token=<redacted>", "version", "--client"]
    state = open(os.path.join(fake_oc.state_dir, "invocations.jsonl")).read()
    assert "supersecretvalue" not in state
