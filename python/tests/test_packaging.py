"""The package as installed: no libtorch in the process, the public names, typing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import rlrec


def test_the_extension_links_no_libtorch() -> None:
    # A fresh interpreter: what importing and stepping rlrec maps into the process.
    code = (
        "import rlrec\n"
        "env = rlrec.make('strong-lts'); env.reset(seed=0); env.step([0, 1])\n"
        "rlrec.baseline('random', episodes=2)\n"
        "maps = open('/proc/self/maps').read()\n"
        "print('torch' in maps, rlrec._rlrec.__file__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    linked, extension = done.stdout.split()
    assert linked == "False"
    assert Path(extension).name.endswith(".abi3.so"), "one wheel for every Python >= 3.10"


def test_the_public_names() -> None:
    assert set(rlrec.__all__) <= set(dir(rlrec))
    assert rlrec.__version__
    assert (Path(rlrec.__file__).parent / "py.typed").is_file()
    assert set(rlrec.IDS) == {
        "rlrec/StrongLTS-v0",
        "rlrec/LTS-v0",
        "rlrec/InterestEvolution-v0",
        "rlrec/InterestExploration-v0",
        # SARDINE's eight, under its own names in rlrec's namespace.
        *(f"rlrec/{kind}-v0" for kind in ["SingleItem-Static", "SingleItem-BoredInf", "SingleItem-Uncertain"]),
        *(f"rlrec/{kind}-v0" for kind in ["SlateTopK-Bored", "SlateTopK-BoredInf", "SlateTopK-Uncertain"]),
        *(f"rlrec/{kind}-v0" for kind in ["SlateRerank-Static", "SlateRerank-Bored"]),
    }


def test_env_creator_makes_single_and_vector_environments() -> None:
    create = rlrec.env_creator("interest-evolution", num_candidates=10, flat=True)
    single = create({"seed": 3})
    assert isinstance(single, rlrec.RecSimEnv) and single.observation_space.shape == (20 + 200 + 52,)
    vector = create({"seed": 3, "num_envs": 4})
    assert isinstance(vector, rlrec.RecSimVectorEnv) and vector.num_envs == 4
