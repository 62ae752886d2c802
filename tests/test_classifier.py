import logging
import threading

import numpy as np
import pytest
import torch
from conftest import HELD_OUT, TOPICS, opinion_examples

from engine.classifier import Classifier, NotFittedError
from engine.progress import Cancelled


def test_fine_tuning_three_topics_beats_chance_clearly(fitted_classifier):
    texts, truth = zip(*HELD_OUT)
    predicted = fitted_classifier.predict(list(texts))
    accuracy = np.mean([p == t for p, t in zip(predicted, truth)])
    assert accuracy >= 0.75  # chance is 1/3
    assert fitted_classifier.labels == sorted(TOPICS)


def test_predict_shapes_single_and_many(fitted_classifier):
    assert fitted_classifier.predict("Preheat the oven and grease the pan") == "cooking"
    probabilities = fitted_classifier.predict_proba(["one", "two words", "and three words here"])
    assert probabilities.shape == (3, 3)
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-5)
    assert fitted_classifier.predict_proba([]).shape == (0, 3)


def test_batching_and_padding_do_not_change_probabilities(fitted_classifier):
    texts = [text for text, _ in HELD_OUT]
    one_by_one = np.concatenate([fitted_classifier.predict_proba([t]) for t in texts])
    batched = fitted_classifier.predict_proba(texts, batch_size=5)
    assert np.allclose(one_by_one, batched, atol=1e-5)


def test_save_load_gives_identical_probabilities(fitted_classifier, backbone, tmp_path):
    path = fitted_classifier.save(tmp_path / "topics.safetensors")
    loaded = Classifier.load(path, backbone=backbone)
    texts = [text for text, _ in HELD_OUT]
    assert loaded.labels == fitted_classifier.labels
    assert np.array_equal(loaded.predict_proba(texts), fitted_classifier.predict_proba(texts))
    assert loaded.training["examples_per_class"] == {label: 8 for label in TOPICS}
    assert path.stat().st_size < 1_000_000


def test_classifier_file_is_a_small_fraction_of_the_backbone(fitted_classifier, backbone, tmp_path):
    from engine.formats import read_classifier_file

    content = read_classifier_file(fitted_classifier.save(tmp_path / "c.safetensors"))
    stored = sum(t.numel() for t in content.tensors.values())
    assert stored / backbone.num_parameters < 0.006


def test_pairs_are_supported(backbone):
    texts = [
        ("A man plays guitar", "A person makes music"),
        ("A man plays guitar", "A cat sleeps"),
        ("Kids run outside", "Children are running"),
        ("Kids run outside", "A car is parked"),
    ]
    classifier = Classifier(backbone, max_length=32).fit(texts, ["yes", "no", "yes", "no"])
    assert classifier.predict([("A dog barks", "An animal makes noise")]) in (["yes"], ["no"])


@pytest.mark.parametrize(
    "texts, labels, classes, message",
    [
        ([], [], None, "No examples given"),
        (["a", "b"], ["x"], None, "differ in length"),
        (["a", "b"], ["x", "x"], None, "Only one class"),
        (["a", "b"], ["x", "y"], ["x", "y", "z"], r"Class\(es\) \['z'\] have no examples"),
        (["a", "b"], ["x", "w"], ["x", "y"], r"Label\(s\) \['w'\] are not among"),
        (["a", "  "], ["x", "y"], None, r"Example\(s\) \[1\] have empty text"),
    ],
)
def test_bad_training_data_is_explained(backbone, texts, labels, classes, message):
    with pytest.raises(ValueError, match=message):
        Classifier(backbone).fit(texts, labels, classes=classes)


def test_long_texts_are_truncated_and_counted(backbone, caplog):
    long_text = "the football match " * 100
    with caplog.at_level(logging.WARNING):
        classifier = Classifier(backbone, max_length=16).fit(
            [long_text, "bake bread", "soccer game", "boil pasta"], ["s", "c", "s", "c"]
        )
    assert classifier.training["truncated_texts"] == 1
    assert "truncated" in caplog.text
    assert classifier.predict(long_text) == "s"


def test_cancel_keeps_the_previous_classifier(backbone, topic_examples):
    classifier = Classifier(backbone, max_length=32).fit(
        ["win", "bake", "goal", "stir"], ["s", "c", "s", "c"]
    )
    before = classifier.predict_proba(["a goal"])
    with pytest.raises(Cancelled):
        classifier.fit(*topic_examples, should_stop=lambda: True)
    assert classifier.labels == ["c", "s"]
    assert np.array_equal(classifier.predict_proba(["a goal"]), before)


def test_untrained_classifier_refuses_to_predict_or_save(backbone, tmp_path):
    classifier = Classifier(backbone)
    with pytest.raises(NotFittedError, match="call fit"):
        classifier.predict("x")
    with pytest.raises(NotFittedError, match="train the classifier first"):
        classifier.save(tmp_path / "x.safetensors")


def test_enough_examples_let_a_held_out_quarter_choose_the_step_count(backbone):
    from engine.finetune import CHOOSING_STEPS

    texts, labels = opinion_examples()
    events = []
    classifier = Classifier(backbone, max_length=16).fit(texts, labels, progress=events.append)
    learned = classifier.meta.steps
    training = classifier.training
    assert training["held_out"]["examples"] == 8  # 4 of each class
    assert learned <= training["steps"] <= 2 * learned
    choosing = [e for e in events if e.stage == CHOOSING_STEPS]
    assert training["steps"] <= len(choosing) <= 2 * learned
    assert [e.done for e in events[len(choosing) :]] == list(range(1, training["steps"] + 1))
    assert classifier.predict(["I loved the park", "I hated the park"]) == ["good", "bad"]

    fewer = Classifier(backbone, max_length=16).fit(texts[1:-1], labels[1:-1])
    assert "held_out" not in fewer.training  # 15 per class: a quarter would be 3 examples
    assert fewer.training["steps"] == learned


def test_a_fixed_step_count_skips_the_held_out_choice(backbone):
    from engine.finetune import CHOOSING_STEPS

    texts, labels = opinion_examples()
    events = []
    classifier = Classifier(backbone, max_length=16).fit(
        texts, labels, steps=3, progress=events.append
    )
    assert "held_out" not in classifier.training and classifier.training["steps"] <= 3
    assert not [e for e in events if e.stage == CHOOSING_STEPS]
    assert [e.done for e in events] == [1, 2, 3]
    with pytest.raises(ValueError, match="`steps` must be 0 or more"):
        Classifier(backbone, max_length=16).fit(texts, labels, steps=-1)


def test_training_in_a_thread_beside_prediction_changes_neither(backbone, topic_examples):
    """Classifiers share the backbone's frozen weights; a fit in a worker thread while another
    classifier predicts must leave both exactly as they would be one after the other."""
    texts, labels = topic_examples
    probe = ["a late goal won the cup", "fry the garlic in oil", "rates rose again"]
    live = Classifier(backbone, max_length=32).fit(texts[::4], labels[::4])
    before = live.predict_proba(probe)
    alone = Classifier(backbone, max_length=32).fit(texts, labels).predict_proba(probe)

    trained_beside = Classifier(backbone, max_length=32)
    worker = threading.Thread(target=trained_beside.fit, args=(texts, labels))
    worker.start()
    while worker.is_alive():
        assert np.allclose(live.predict_proba(probe), before, atol=1e-6)
    worker.join()
    assert np.allclose(trained_beside.predict_proba(probe), alone, atol=1e-6)
    assert np.allclose(live.predict_proba(probe), before, atol=1e-6)


def test_many_examples_step_on_a_subsample_and_fit_the_head_on_all(backbone, topic_examples):
    from engine.classifier import READING_ALL
    from engine.folds import stratified_subsample

    texts, labels = topic_examples
    events = []
    many = Classifier(backbone, max_length=32, learned_steps_per_class=3)
    many.fit(texts, labels, progress=events.append)
    assert many.training["stepped_on"] == 9 and many.training["examples"] == 24
    reading = [e for e in events if e.stage == READING_ALL]
    assert reading and reading[-1].done == reading[-1].total == 24

    rows = stratified_subsample(labels, 3, texts=texts)
    few = Classifier(backbone, max_length=32).fit(
        [texts[i] for i in rows], [labels[i] for i in rows]
    )
    assert np.allclose(many.embed(texts), few.embed(texts), atol=1e-5)  # the same adapters

    assert not np.allclose(many.predict_proba(texts), few.predict_proba(texts), atol=1e-3)
    held_out_texts, held_out_labels = zip(*HELD_OUT)
    correct = sum(p == t for p, t in zip(many.predict(list(held_out_texts)), held_out_labels))
    assert correct >= 0.75 * len(HELD_OUT)


def test_cancelling_the_pass_over_all_examples_keeps_the_previous_classifier(
    backbone, topic_examples
):
    from engine.classifier import READING_ALL

    texts, labels = topic_examples
    classifier = Classifier(backbone, max_length=32).fit(texts[::4], labels[::4])
    before = classifier.predict_proba(["a goal"])
    reading = []
    classifier.learned_steps_per_class = 3
    with pytest.raises(Cancelled):
        classifier.fit(
            texts,
            labels,
            progress=lambda e: reading.append(e.stage == READING_ALL),
            should_stop=lambda: any(reading),
        )
    assert np.array_equal(classifier.predict_proba(["a goal"]), before)
    assert classifier.training["examples"] == 6


def test_use_time_starts_from_the_head_meta_training_starts_from(backbone, topic_examples):
    """The shipped phi_0 is not the identity: a head built from identity-adapter features
    would differ from the one meta-training optimised its query loss from."""
    from engine.backbone import encode_texts
    from engine.finetune import Batch, pooled_features
    from engine.head import HEAD_BIAS, HEAD_WEIGHT, prototype_head
    from engine.metatrain import MetaParameters

    texts, labels = topic_examples
    classifier = Classifier(backbone, max_length=32, name_weight=0.0).fit(texts, labels, steps=0)
    meta = MetaParameters(backbone, classifier.meta, backbone.device)
    targets = torch.tensor([classifier.labels.index(label) for label in labels])
    support = Batch(encode_texts(backbone, texts, 32), targets)
    with torch.no_grad():
        features = pooled_features(meta.model, meta.phi0, support)
        head = prototype_head(features, targets, 3, meta.log_scale.exp())
    for name in (HEAD_WEIGHT, HEAD_BIAS):
        assert torch.allclose(classifier._head[name], head[name], atol=1e-5)


def test_class_names_start_the_head_and_meaningless_names_fall_back(backbone, topic_examples):
    texts, labels = topic_examples
    one_each = [texts.index(next(t for t, y in zip(texts, labels) if y == c)) for c in TOPICS]
    few_texts, few_labels = [texts[i] for i in one_each], [labels[i] for i in one_each]
    probe = [text for text, _ in HELD_OUT]
    plain = Classifier(backbone, max_length=32, name_weight=0.0).fit(few_texts, few_labels)
    named = Classifier(backbone, max_length=32, name_weight=1.0).fit(few_texts, few_labels)
    assert not np.allclose(named.predict_proba(probe), plain.predict_proba(probe), atol=1e-3)
    correct = sum(p == t for p, (_, t) in zip(named.predict(probe), HELD_OUT))
    assert correct >= 0.75 * len(HELD_OUT)  # one example and a name per class

    numbered = {label: str(i) for i, label in enumerate(TOPICS)}
    codes = [numbered[label] for label in few_labels]
    without = Classifier(backbone, max_length=32, name_weight=0.0).fit(few_texts, codes)
    with_codes = Classifier(backbone, max_length=32, name_weight=1.0).fit(few_texts, codes)
    assert np.array_equal(with_codes.predict_proba(probe), without.predict_proba(probe))


def test_names_alone_classify_beyond_chance_and_meaningless_names_need_examples(backbone):
    classes = list(TOPICS)
    zero_shot = Classifier(backbone, max_length=32, name_weight=1.0).fit([], [], classes=classes)
    assert zero_shot.training["examples"] == 0 and zero_shot.training["steps"] == 0
    correct = sum(
        p == t for p, (_, t) in zip(zero_shot.predict([t for t, _ in HELD_OUT]), HELD_OUT)
    )
    assert correct > 2 * len(HELD_OUT) / len(classes)  # twice chance, from names alone

    with pytest.raises(ValueError, match="No examples given"):
        Classifier(backbone, name_weight=1.0).fit([], [], classes=["0", "1", "2"])
    with pytest.raises(ValueError, match="have no examples"):
        Classifier(backbone, name_weight=1.0).fit(
            ["goal"], ["sports"], classes=["sports", "LABEL_1"]
        )
    with pytest.raises(ValueError, match="No examples given"):
        Classifier(backbone, name_weight=0.0).fit([], [], classes=classes)  # examples needed
