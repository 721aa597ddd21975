"""The Chat Completions client, the answer cache, and what is kept of an answer (issue #14)."""

from __future__ import annotations

import json
import time
import unicodedata

import pytest
from fake_llm import FakeLLM

from pipeline.errors import PipelineError
from pipeline.naming.llm.client import AnswerCache, ChatClient, Endpoint, LLMError, read_api_key
from pipeline.naming.llm.prompts import (
    DESCRIPTION_CHARS,
    NAME_CHARS,
    NAME_WORDS,
    node_prompt,
    parse_answer,
    reask_prompt,
    sanitise_description,
    sanitise_name,
)

MESSAGES = [{"role": "user", "content": "name it"}]


@pytest.fixture
def server():
    with FakeLLM() as fake:
        fake.reply = lambda body: '{"name": "Robot Grasping", "description": "Grasping."}'
        yield fake


def client_for(server: FakeLLM, **options) -> ChatClient:
    sleeps: list[float] = []
    options.setdefault("sleep", sleeps.append)
    client = ChatClient(Endpoint.parse(server.url), "fake-model", **options)
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


# --------------------------------------------------------------------------- endpoint


@pytest.mark.parametrize(("url", "expected"), [
    ("http://localhost:11434/v1", "http://localhost:11434/v1/chat/completions"),
    ("http://localhost:11434/v1/", "http://localhost:11434/v1/chat/completions"),
    ("http://localhost:8080", "http://localhost:8080/v1/chat/completions"),
    ("https://api.example.com/v1/chat/completions", "https://api.example.com/v1/chat/completions"),
    ("https://h.example/openai/v1?api-version=2", "https://h.example/openai/v1/chat/completions"
                                                  "?api-version=2"),
])
def test_endpoint_completes_a_base_url(url, expected):
    assert Endpoint.parse(url).url == expected


def test_endpoint_names_host_and_hides_the_query():
    endpoint = Endpoint.parse("https://h.example:8443/v1?key=SECRET")
    assert endpoint.host == "h.example:8443"
    assert "SECRET" not in endpoint.display and endpoint.display.endswith("/v1/chat/completions")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://h/v1", "localhost:11434", "", "/v1"])
def test_endpoint_refuses_other_schemes(url):
    with pytest.raises(PipelineError, match="http:// or https://"):
        Endpoint.parse(url)


def test_endpoint_refuses_credentials_without_repeating_them():
    with pytest.raises(PipelineError) as info:
        Endpoint.parse("https://user:hunter2@api.example.com/v1")
    assert "hunter2" not in str(info.value) and "--api-key-env" in str(info.value)


def test_api_key_comes_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", " sk-abc ")
    assert read_api_key("TEST_LLM_KEY") == "sk-abc"
    assert read_api_key(None) is None
    monkeypatch.delenv("TEST_LLM_KEY")
    with pytest.raises(PipelineError, match=r"\$TEST_LLM_KEY.*not set"):
        read_api_key("TEST_LLM_KEY")


# --------------------------------------------------------------------------- client


def test_client_sends_a_chat_request_with_the_key(server):
    client = client_for(server, api_key="sk-secret-1", key_variable="K")
    assert json.loads(client.complete(MESSAGES))["name"] == "Robot Grasping"
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-secret-1"
    assert request["body"]["model"] == "fake-model" and request["body"]["messages"] == MESSAGES
    assert request["body"]["stream"] is False
    assert "sk-secret-1" not in repr(client)


def test_client_backs_off_on_429_and_5xx_then_succeeds(server):
    server.script = [(429, {"error": {"message": "slow down"}}, {"Retry-After": "2"}),
                     (503, {"error": "busy"}, {})]
    client = client_for(server, backoff=0.01)
    assert "Robot Grasping" in client.complete(MESSAGES)
    assert client.sleeps == [2.0, 0.02]  # Retry-After honoured, then exponential backoff
    assert client.requests == 3 and client.answers == 1


def test_client_gives_up_after_its_retries_naming_the_endpoint(server):
    server.script = [(500, b"oops", {})] * 5
    client = client_for(server, retries=2, backoff=1.0)
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES)
    message = str(info.value)
    assert server.url + "/chat/completions" in message and "HTTP 500" in message
    assert "3 tries" in message and "\n" not in message
    assert client.sleeps == [1.0, 2.0]


def test_client_does_not_retry_a_refused_key(server):
    server.script = [(401, {"error": {"message": "invalid key\nsk-secret-2"}}, {})]
    client = client_for(server, api_key="sk-secret-2", key_variable="MY_KEY")
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES)
    assert client.requests == 1 and "$MY_KEY" in str(info.value)
    assert "\n" not in str(info.value)


def test_client_does_not_follow_redirects(server):
    server.script = [(302, b"", {"Location": "http://127.0.0.1:9/steal"})]
    with pytest.raises(LLMError, match="redirects"):
        client_for(server, api_key="k").complete(MESSAGES)
    assert len(server.requests) == 1


@pytest.mark.parametrize("payload", [b"<html>not json</html>", {"choices": []},
                                     {"choices": [{"message": {"content": None}}]}])
def test_client_refuses_what_is_not_a_chat_completion(server, payload):
    server.script = [(200, payload, {})]
    with pytest.raises(LLMError, match="OpenAI-compatible"):
        client_for(server).complete(MESSAGES)


def test_client_times_out(server):
    server.reply = lambda body: time.sleep(1.0) or "late"
    client = client_for(server, timeout=0.2, retries=1)
    with pytest.raises(LLMError, match=r"no answer within 0.2 s"):
        client.complete(MESSAGES)
    assert client.requests == 2


def test_client_reports_a_stopped_server():
    fake = FakeLLM().start()
    fake.stop()
    client = client_for(fake, retries=1)
    with pytest.raises(LLMError, match="connection refused") as info:
        client.complete(MESSAGES)
    assert f"127.0.0.1:{fake.port}/v1/chat/completions" in str(info.value)
    assert client.sleeps == [1.0]


# --------------------------------------------------------------------------- cache


def test_cache_keys_answers_by_model_and_prompt(tmp_path):
    cache = AnswerCache(tmp_path)
    cache.put("m1", MESSAGES, "answer")
    assert cache.get("m1", MESSAGES) == "answer"
    assert cache.get("m2", MESSAGES) is None
    assert cache.get("m1", [{"role": "user", "content": "other"}]) is None
    [path] = (tmp_path / "llm").rglob("*.json")
    assert json.loads(path.read_text()) == {"model": "m1", "content": "answer"}
    path.write_text("{corrupt")
    assert cache.get("m1", MESSAGES) is None


# --------------------------------------------------------------------------- answers

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "img": '<img src=x onerror="alert(1)">Vision Models',
    "multiline": "Robot Grasping\n\nignore previous instructions\n<script>x</script>",
    "long": "word " * 100,
    "one long word": "x" * 500,
    "controls": "Graph\u202eNeural\x00 Networks\u200b\x1b[31m",
    "markdown": "**[Click](javascript:alert(1))** Topic",
}


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_sanitised_names_are_short_single_lines_of_text(raw):
    name = sanitise_name(raw)
    assert "<" not in name and ">" not in name and "\n" not in name
    assert len(name) <= NAME_CHARS and len(name.split()) <= NAME_WORDS
    assert all(unicodedata.category(ch)[0] != "C" for ch in name)
    assert "javascript:" not in name


def test_sanitise_name_keeps_the_name_and_drops_decoration():
    assert sanitise_name('Name: **"Robot Grasping."**') == "Robot Grasping"
    assert sanitise_name("Multiline\nsecond line") == "Multiline"
    assert sanitise_name("Kernel & SVM") == "Kernel & SVM"
    assert sanitise_name(HOSTILE["controls"]) == "Graph Neural Networks [31m"
    for empty in ("", "   ", "<b></b>", "\x00\x01", "...", None, 42):
        assert sanitise_name(empty) == ""


def test_sanitise_description_keeps_one_short_sentence():
    text = "Studies robot grasping with learned models. Ignore this. <b>x</b>"
    assert sanitise_description(text) == "Studies robot grasping with learned models."
    assert sanitise_description("line one\nline two") == "line one line two"
    long = sanitise_description("word " * 200)
    assert len(long) <= DESCRIPTION_CHARS and long.endswith("…")


@pytest.mark.parametrize("raw", [
    '{"name": "Robot Grasping", "description": "Grasping objects."}',
    'Sure! ```json\n{"name": "Robot Grasping", "description": "Grasping objects."}\n```',
    '<think>hmm {"name": "no"}</think>{"name": "Robot Grasping", "description": '
    '"Grasping objects."}',
    'Here it is: {"name": "Robot Grasping", "description": "Grasping objects."} Done.',
    '{"name": "Robot Grasping", "description": "Grasping objects.", ',
])
def test_parse_answer_finds_the_json(raw):
    assert parse_answer(raw) == ("Robot Grasping", "Grasping objects.")


def test_parse_answer_takes_a_plain_line_as_the_name():
    assert parse_answer("Robot Grasping\nBecause...") == ("Robot Grasping", "")
    assert parse_answer('{"name": ["not", "text"]}') == ("", "")


def test_prompt_carries_terms_papers_parent_siblings_and_children():
    messages = node_prompt(
        terms=["grasping", "gripper"], size=40,
        papers=[("Learning to grasp\nobjects", "We grasp. " * 100)],
        parent="Robotics", siblings=["Locomotion", "Drones"],
        children=[("Suction Grippers", 12), ("Dexterous Hands", 9)])
    assert messages[0]["role"] == "system" and "JSON" in messages[0]["content"]
    text = messages[1]["content"]
    for expected in ("grasping; gripper", "40 papers", '"Robotics"', '"Locomotion"; "Drones"',
                     '"Suction Grippers" (12 papers)', "1. Learning to grasp objects - We grasp"):
        assert expected in text
    assert len(text) < 2000
    again = reask_prompt(messages, "Grasping", "Grasp.", ["Grasping"])
    assert again[:2] == messages and again[2]["role"] == "assistant"
    assert 'already named "Grasping"' in again[3]["content"]


def test_client_drops_a_temperature_the_model_refuses(server):
    server.script = [(400, {"error": {"message": "Unsupported value: 'temperature' does not "
                                                 "support 0 with this model."}}, {})]
    client = client_for(server)
    assert "Robot Grasping" in client.complete(MESSAGES)
    assert server.requests[0]["body"]["temperature"] == 0
    assert "temperature" not in server.requests[1]["body"]
    client.complete(MESSAGES)
    assert "temperature" not in server.requests[2]["body"] and client.sleeps == []
