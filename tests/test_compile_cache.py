"""The persistent compile cache: off at import, on at the first kernel use, configurable by environment."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from statmech import _compile_cache

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_python(code, env_updates, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("STATMECH_COMPILE_CACHE", "JAX_COMPILATION_CACHE_DIR", "XDG_CACHE_HOME")}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env.update(env_updates)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="XDG_CACHE_HOME is the Linux convention")
def test_nothing_at_import_and_cache_on_at_first_kernel_use(tmp_path):
    code = """
import json, pathlib, os
import jax
import statmech as sm
folder = pathlib.Path(os.environ["XDG_CACHE_HOME"]) / "statmech" / "jax"
before = [jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs,
          folder.exists()]
model = sm.Ising.square(4)
import jax.numpy as jnp
sm.mc.metropolis.init(jnp.ones(16, jnp.int8), model, 0.4)
after = [jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs,
         folder.is_dir(), str(folder)]
print(json.dumps([before, after]))
"""
    before, after = run_python(code, {}, tmp_path)
    assert before == [None, 1.0, False]
    assert after[0] == after[3] and after[1] == 0.0 and after[2]


@pytest.fixture
def pristine_jax_cache_settings():
    """JAX's cache settings as if nothing had configured them; restored afterwards."""
    import jax

    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    saved = [getattr(jax.config, name) for name in names]
    jax.config.update(names[0], None)
    jax.config.update(names[1], 1.0)
    yield jax.config
    for name, value in zip(names, saved):
        jax.config.update(name, value)


@pytest.mark.parametrize("value", ["0", "off", "false", "no"])
def test_environment_disables_the_cache(monkeypatch, pristine_jax_cache_settings, value):
    monkeypatch.setenv("STATMECH_COMPILE_CACHE", value)
    assert _compile_cache._switch_on() is None
    assert pristine_jax_cache_settings.jax_compilation_cache_dir is None
    assert pristine_jax_cache_settings.jax_persistent_cache_min_compile_time_secs == 1.0


def test_environment_relocates_the_cache(monkeypatch, pristine_jax_cache_settings, tmp_path):
    monkeypatch.setenv("STATMECH_COMPILE_CACHE", str(tmp_path / "custom"))
    assert _compile_cache._switch_on() == tmp_path / "custom"
    assert (tmp_path / "custom").is_dir()
    assert pristine_jax_cache_settings.jax_compilation_cache_dir == str(tmp_path / "custom")
    assert pristine_jax_cache_settings.jax_persistent_cache_min_compile_time_secs == 0.0


def test_a_cache_the_user_configured_wins(monkeypatch, pristine_jax_cache_settings, tmp_path):
    monkeypatch.setenv("STATMECH_COMPILE_CACHE", str(tmp_path / "custom"))
    pristine_jax_cache_settings.update("jax_compilation_cache_dir", str(tmp_path / "mine"))
    assert _compile_cache._switch_on() is None
    assert pristine_jax_cache_settings.jax_compilation_cache_dir == str(tmp_path / "mine")
    assert pristine_jax_cache_settings.jax_persistent_cache_min_compile_time_secs == 1.0
    assert not (tmp_path / "custom").exists()


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STATMECH_COMPILE_CACHE", "no")
    assert _compile_cache.cache_directory() is None
    monkeypatch.setenv("STATMECH_COMPILE_CACHE", str(tmp_path / "here"))
    assert _compile_cache.cache_directory() == tmp_path / "here"
    monkeypatch.setenv("STATMECH_COMPILE_CACHE", "1")
    assert _compile_cache.cache_directory() == _compile_cache.default_cache_directory()
    if sys.platform not in ("darwin", "win32"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert _compile_cache.default_cache_directory() == tmp_path / "xdg" / "statmech" / "jax"
        monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored, as the spec says
        assert _compile_cache.default_cache_directory() == pathlib.Path.home() / ".cache" / "statmech" / "jax"
