"""A long stage's steps: logged with elapsed time and rows, named in the Spark UI."""

from __future__ import annotations

from dtsen.progress import Progress, format_steps


def _description(spark) -> str | None:
    return spark.sparkContext.getLocalProperty("spark.job.description")


def test_a_step_names_its_spark_jobs_and_logs_its_time_and_rows(spark, log_lines) -> None:
    before = len(log_lines)  # the suite's other stages log their own steps too
    progress = Progress(spark, "link")
    assert _description(spark) == "link"
    with progress.step("prediction") as rows:
        assert _description(spark) == "link: prediction"
        rows.n = spark.range(1234).count()
    assert _description(spark) == "link"
    with progress.step("clustering"):
        pass
    with progress.step("prediction"):
        pass
    assert list(progress.seconds) == ["prediction", "clustering"]
    assert all(s >= 0 for s in progress.seconds.values())
    ours = log_lines[before:]
    done = [line for line in ours if line.startswith("dtsen.progress: link: prediction done")]
    assert len(done) == 2
    assert ", 1,234 rows (" in done[0]
    assert "rows" not in done[1]
    assert format_steps({"records": 1.25, "prediction": 10.0}) == (
        "steps: records 1.2 s, prediction 10.0 s"
    )


def test_a_failing_step_still_restores_the_stage_name(spark) -> None:
    progress = Progress(spark, "update")
    try:
        with progress.step("scoring"):
            raise ValueError("boom")
    except ValueError:
        pass
    assert _description(spark) == "update"
    assert "scoring" in progress.seconds
