import json
import random
import re
from collections import Counter

import pytest

from engine.tasks import (
    EpisodeShape,
    MixedSampler,
    SmlmtSampler,
    SupervisedSampler,
    TaskSampling,
    build_word_index,
    find_task_folders,
    load_word_index,
    read_task_folder,
    without_families,
)

ANIMALS = ["cat", "dog", "horse", "sheep", "goat"]
PLACES = ["harbour", "village", "mountain", "forest"]


def write_task(folder, rows):
    folder.mkdir(parents=True)
    with (folder / "train.jsonl").open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return folder


@pytest.fixture
def task_root(tmp_path):
    topics = {f"label{i}": [f"text {i} number {j}" for j in range(30)] for i in range(6)}
    write_task(
        tmp_path / "tasks" / "topics",
        [{"text": t, "label": label} for label, ts in topics.items() for t in ts],
    )
    pairs = [
        {"text": f"premise {j}", "text_b": f"hypothesis {j}", "label": ["yes", "no"][j % 2]}
        for j in range(40)
    ]
    write_task(tmp_path / "tasks" / "pairs", pairs)
    return tmp_path / "tasks"


@pytest.fixture
def corpus(tmp_path):
    rng = random.Random(1)
    lines = []
    for number in range(600):
        word = rng.choice(ANIMALS + PLACES)
        lines.append(f"In story {number} the {word} walked slowly near the old river bank today.")
    path = tmp_path / "text.txt"
    path.write_text("\n".join(lines))
    return path


def test_supervised_episodes_are_balanced_and_shaped(task_root):
    datasets = [read_task_folder(f) for f in find_task_folders([task_root])]
    assert {d.name for d in datasets} == {"topics", "pairs"}
    sampler = SupervisedSampler(datasets, EpisodeShape(n_way=(2, 5), k_shot=(2, 6), query=3))
    rng = random.Random(0)
    for _ in range(30):
        episode = sampler.sample(rng)
        n = episode.num_classes
        k = len(episode.support) // n
        assert 2 <= n <= 5 and 2 <= k <= 6
        assert Counter(episode.support_labels) == {label: k for label in range(n)}
        assert Counter(episode.query_labels) == {label: 3 for label in range(n)}
        assert not set(episode.support) & set(episode.query)
        if episode.source == "pairs":
            assert all(isinstance(t, tuple) for t in episode.support)


def test_dataset_choice_follows_sqrt_size(task_root):
    datasets = [read_task_folder(f) for f in find_task_folders([task_root])]
    sampler = SupervisedSampler(datasets, EpisodeShape(n_way=(2, 2), k_shot=(2, 2), query=1))
    rng = random.Random(0)
    counts = Counter(sampler.sample(rng).source for _ in range(2000))
    expected = (180**0.5) / (180**0.5 + 40**0.5)  # topics: 180 examples, pairs: 40
    assert counts["topics"] / 2000 == pytest.approx(expected, abs=0.04)


def test_family_sampling_draws_every_family_equally_often(tmp_path):
    def rows(size):
        return [{"text": f"text {j}", "label": f"l{j % 2}"} for j in range(size)]

    # Three sentiment datasets (large) against one intent dataset (small).
    for name, size in [("glue_sst2", 400), ("imdb", 400), ("yelp_review_stars", 400)]:
        write_task(tmp_path / name, rows(size))
    write_task(tmp_path / "banking77", rows(40))
    datasets = [read_task_folder(f) for f in find_task_folders([tmp_path])]
    shape = EpisodeShape(n_way=(2, 2), k_shot=(2, 2), query=1)

    def intent_share(sampling):
        sampler = SupervisedSampler(datasets, shape, sampling)
        rng = random.Random(0)
        return sum(sampler.sample(rng).source == "banking77" for _ in range(2000)) / 2000

    assert intent_share(TaskSampling.FAMILY) == pytest.approx(0.5, abs=0.04)
    by_size = 40**0.5 / (3 * 400**0.5 + 40**0.5)
    assert intent_share(TaskSampling.SQRT_SIZE) == pytest.approx(by_size, abs=0.03)


def test_leaving_a_family_out_drops_all_of_its_datasets_and_only_those(tmp_path):
    rows = [{"text": f"text {j}", "label": f"l{j % 2}"} for j in range(10)]
    for name in ["ag_news", "dbpedia14", "banking77", "imdb", "my_own_task"]:
        write_task(tmp_path / name, rows)
    kept = without_families([tmp_path], ["topic"])
    assert [folder.name for folder in kept] == ["banking77", "imdb", "my_own_task"]
    kept = without_families([tmp_path], ["topic", "intent"])
    assert [folder.name for folder in kept] == ["imdb", "my_own_task"]
    with pytest.raises(ValueError, match="'nli'.*present: intent, my_own_task, sentiment, topic"):
        without_families([tmp_path], ["nli"])


def test_same_seed_same_episodes(task_root):
    datasets = [read_task_folder(f) for f in find_task_folders([task_root])]
    sampler = SupervisedSampler(datasets, EpisodeShape())
    first = [sampler.sample(random.Random("7-0-3")) for _ in range(3)]
    again = [sampler.sample(random.Random("7-0-3")) for _ in range(3)]
    assert first == again


def test_smlmt_masks_the_word_and_the_label_names_it(corpus):
    sentences = corpus.read_text().splitlines()
    index = build_word_index(sentences, min_count=5)
    assert set(ANIMALS + PLACES) <= set(index.words)
    word_of_sentence = {}
    for sentence in sentences:
        word = next(w for w in ANIMALS + PLACES if re.search(rf"\b{w}\b", sentence))
        word_of_sentence[sentence.replace(f" {word} ", " [MASK] ")] = word
    sampler = SmlmtSampler(index, EpisodeShape(n_way=(3, 3), k_shot=(4, 4), query=2), "[MASK]")
    rng = random.Random(0)
    for _ in range(20):
        episode = sampler.sample(rng)
        words_of_label = {}
        for text, label in zip(
            episode.support + episode.query, episode.support_labels + episode.query_labels
        ):
            assert text.count("[MASK]") == 1
            assert not any(re.search(rf"\b{w}\b", text) for w in ANIMALS + PLACES)  # really gone
            words_of_label.setdefault(label, set()).add(word_of_sentence[text])
        assert all(len(words) == 1 for words in words_of_label.values())  # one word per label
        assert len(set.union(*words_of_label.values())) == 3  # and a different one for each


def test_cluster_smlmt_uses_word_groups(corpus):
    index = build_word_index(corpus.read_text().splitlines(), min_count=5)
    ids = {w: i for i, w in enumerate(index.words)}
    clusters = [[ids[w] for w in ANIMALS], [ids[w] for w in PLACES]]
    sampler = SmlmtSampler(
        index, EpisodeShape(n_way=(2, 2), k_shot=(5, 5), query=2), "[MASK]", clusters
    )
    episode = sampler.sample(random.Random(0))
    assert episode.source == "smlmt-cluster" and episode.num_classes == 2
    # Each class is a cluster, not a word: its sentences hide several words of one cluster.
    story_word = {
        int(re.search(r"story (\d+)", line)[1]): re.search(r"the (\w+) walked", line)[1]
        for line in corpus.read_text().splitlines()
    }
    rng = random.Random(1)
    for _ in range(10):
        episode = sampler.sample(rng)
        for label in range(episode.num_classes):
            texts = [t for t, y in zip(episode.support, episode.support_labels) if y == label]
            words = {story_word[int(re.search(r"story (\d+)", t)[1])] for t in texts}
            assert words <= set(ANIMALS) or words <= set(PLACES)
            assert len(words) > 1, f"class {label} is one word: {words}"


def test_smlmt_that_cannot_fill_an_episode_says_so(corpus):
    index = build_word_index(corpus.read_text().splitlines(), min_count=5)
    too_big = EpisodeShape(n_way=(3, 3), k_shot=(400, 400), query=4)
    with pytest.raises(ValueError, match=r"cannot make SMLMT episodes of shape N=\(3, 3\)"):
        SmlmtSampler(index, too_big, "[MASK]").sample(random.Random(0))


def test_word_index_is_cached(corpus, tmp_path):
    first = load_word_index([corpus], tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("word-index-*.npz"))) == 1
    second = load_word_index([corpus], tmp_path / "cache")
    assert first.words == second.words and (first.offsets == second.offsets).all()


def test_mixing_needs_both_sources(task_root):
    datasets = [read_task_folder(f) for f in find_task_folders([task_root])]
    supervised = SupervisedSampler(datasets, EpisodeShape())
    with pytest.raises(ValueError, match="needs unlabeled text"):
        MixedSampler(supervised, [], 0.5)
    assert MixedSampler(supervised, [], 1.0).sample(random.Random(0)).source in ("topics", "pairs")
    with pytest.raises(ValueError, match=r"`n_way` must be a range"):
        EpisodeShape(n_way=(1, 3))


def test_lambda_is_the_share_of_supervised_episodes(task_root, corpus):
    datasets = [read_task_folder(f) for f in find_task_folders([task_root])]
    shape = EpisodeShape(n_way=(2, 2), k_shot=(2, 2), query=2)
    supervised = SupervisedSampler(datasets, shape)
    smlmt = SmlmtSampler(
        build_word_index(corpus.read_text().splitlines(), min_count=5), shape, "[MASK]"
    )
    rng = random.Random(0)
    for lam in (0.2, 0.7):
        sources = Counter(
            MixedSampler(supervised, [smlmt], lam).sample(rng).source for _ in range(2000)
        )
        share = (sources["topics"] + sources["pairs"]) / 2000
        assert abs(share - lam) < 0.04, (lam, sources)
