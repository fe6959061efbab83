from .conftest import manage, production_env


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_https_turned_off(tmp_path):
    result = manage(
        production_env(tmp_path, DJANGO_HTTPS="false"),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_SECRET_KEY"]

    result = manage(env, "check")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
