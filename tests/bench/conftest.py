"""Fixtures for the retrieval evaluation set: the shared 10-K data, skipped with a reason when absent."""

from __future__ import annotations

import pytest

from bench.eval_data import default_shared_data_dir, load_10k_documents, load_retrieval_eval, ten_k_path


@pytest.fixture(scope="session")
def shared_data_dir():
    directory = default_shared_data_dir()
    if not ten_k_path(directory).is_file():
        pytest.skip(
            f"shared 10-K data not found at {ten_k_path(directory)}: set ARGUS_SHARED_DATA to the shared data "
            "folder (CI has ../shared/data beside the checkout)"
        )
    return directory


@pytest.fixture(scope="session")
def eval_questions(shared_data_dir):
    return load_retrieval_eval(shared_data_dir)


@pytest.fixture(scope="session")
def ten_k_documents(shared_data_dir):
    return list(load_10k_documents(shared_data_dir))
