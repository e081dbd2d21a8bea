"""Start-up of the unpacked krew layout vs a zipapp of the same lib/, per Python.

    env -u PYTHONDONTWRITEBYTECODE python3 krew/bench_startup.py dist/kubectl-kata-v0.1.0.tar.gz PY39 PY313
"""
import os, shutil, subprocess, sys, time, zipapp, statistics, tarfile
arch = sys.argv[1]; pys = sys.argv[2:]
root = "/tmp/bench/tree"; shutil.rmtree(root, ignore_errors=True); os.makedirs(root)
tarfile.open(arch).extractall(root)
# zipapp of the same lib
zsrc = "/tmp/bench/zsrc"; shutil.rmtree(zsrc, ignore_errors=True); shutil.copytree(root + "/lib", zsrc)
open(zsrc + "/__main__.py", "w").write("import sys\nfrom kubectl_kata.cli import main\nsys.exit(main())\n")
zipapp.create_archive(zsrc, "/tmp/bench/kubectl-kata.pyz", interpreter="/usr/bin/env python3")
def t(cmd, n=7):
    xs = []
    for _ in range(n):
        s = time.perf_counter(); subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True); xs.append(time.perf_counter() - s)
    return statistics.median(xs) * 1000
def clean():
    for d, dirs, _ in os.walk(root):
        for x in list(dirs):
            if x == "__pycache__": shutil.rmtree(os.path.join(d, x)); dirs.remove(x)
for py in pys:
    v = subprocess.run([py, "-c", "import sys;print('%d.%d'%sys.version_info[:2])"], capture_output=True, text=True).stdout.strip()
    for args in (["--help"], ["version", "--client"]):
        clean(); s = time.perf_counter(); subprocess.run([py, root + "/kubectl-kata"] + args, stdout=subprocess.DEVNULL, check=True); cold = (time.perf_counter() - s) * 1000
        warm = t([py, root + "/kubectl-kata"] + args)
        z = t([py, "/tmp/bench/kubectl-kata.pyz"] + args, n=5)
        print(f"py{v} {' '.join(args):18s} unpacked first run {cold:6.0f} ms | unpacked warm {warm:6.0f} ms | zipapp {z:6.0f} ms")
    # completion helper and import of kubernetes
    warm = t([py, root + "/kubectl_complete-kata", ""])
    z = t([py, "-c", "import sys; sys.path.insert(0, '/tmp/bench/kubectl-kata.pyz'); import kubernetes.client"], n=3)
    w = t([py, "-c", "import sys; sys.path.insert(0, '%s/lib'); import kubernetes.client" % root], n=5)
    print(f"py{v} kubectl_complete-kata '' warm {warm:.0f} ms; import kubernetes.client: unpacked warm {w:.0f} ms, zipapp {z:.0f} ms")
