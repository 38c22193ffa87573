"""The tiny tokenizer speaks ChatML and marks exactly the assistant's words for completion-only loss."""

from __future__ import annotations

from transformers import AutoTokenizer

from tests.support.tiny_corpus import synthetic_conversations, synthetic_texts
from tests.support.tiny_model.corpus import tokenizer_training_texts
from tests.support.tiny_model.tokenizer import train_bpe_tokenizer

CONVERSATION = [
    {"role": "system", "content": "You add numbers."},
    {"role": "user", "content": "What is 2 plus 2?"},
    {"role": "assistant", "content": "2 plus 2 is 4."},
    {"role": "user", "content": "And 3 plus 5?"},
    {"role": "assistant", "content": "3 plus 5 is 8."},
]


def test_chat_template_renders_chatml_and_marks_assistant_tokens():
    tokenizer = train_bpe_tokenizer(
        tokenizer_training_texts(synthetic_texts(50), synthetic_conversations(20)), vocab_size=400
    )

    assert tokenizer.apply_chat_template(CONVERSATION, tokenize=False) == (
        "<|im_start|>system\nYou add numbers.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2 plus 2?<|im_end|>\n"
        "<|im_start|>assistant\n2 plus 2 is 4.<|im_end|>\n"
        "<|im_start|>user\nAnd 3 plus 5?<|im_end|>\n"
        "<|im_start|>assistant\n3 plus 5 is 8.<|im_end|>\n"
    )
    assert tokenizer.apply_chat_template(
        CONVERSATION[:2], tokenize=False, add_generation_prompt=True
    ).endswith("What is 2 plus 2?<|im_end|>\n<|im_start|>assistant\n")

    encoded = tokenizer.apply_chat_template(CONVERSATION, return_assistant_tokens_mask=True, return_dict=True)
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    assert len(ids) == len(mask)
    # Exactly the answers and the <|im_end|> that closes them -- the model must learn to stop.
    assert tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m]) == (
        "2 plus 2 is 4.<|im_end|>3 plus 5 is 8.<|im_end|>"
    )
    # Special tokens are atomic: one id each, never split into bytes.
    for special in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert len(tokenizer(special, add_special_tokens=False)["input_ids"]) == 1


def test_tokenizer_roles_survive_a_save_and_plain_reload(tmp_path):
    tokenizer = train_bpe_tokenizer(synthetic_texts(50), vocab_size=300)
    tokenizer.save_pretrained(tmp_path)

    reloaded = AutoTokenizer.from_pretrained(tmp_path)

    assert (reloaded.eos_token, reloaded.pad_token, reloaded.bos_token) == (
        "<|im_end|>",
        "<|endoftext|>",
        None,
    )
    assert reloaded.eos_token_id != reloaded.pad_token_id  # collators mask pad out of labels, never eos
    assert reloaded.chat_template == tokenizer.chat_template
    assert reloaded.apply_chat_template(CONVERSATION, tokenize=False) == tokenizer.apply_chat_template(
        CONVERSATION, tokenize=False
    )


def test_byte_level_tokenizer_round_trips_text_it_never_saw():
    tokenizer = train_bpe_tokenizer(synthetic_texts(50), vocab_size=300)
    unseen = "Zoë's naïve café — 数据 🚀\n\ttabs"

    assert tokenizer.decode(tokenizer(unseen, add_special_tokens=False)["input_ids"]) == unseen
