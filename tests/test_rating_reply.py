"""The pure reader of replies to the rating prompt: ratings, comments, negation, and the many
messages that must not be read as a rating at all."""

from __future__ import annotations

import pytest

from cases.model import Rating
from cases.rating_reply import read_rating_reply

S, A, U = Rating.SATISFIED, Rating.AVERAGE, Rating.UNSATISFIED


@pytest.mark.parametrize(
    ("text", "rating", "comment"),
    [
        # digits, half- and full-width, with or without words
        ("1", S, ""), ("2", A, ""), ("3", U, ""), ("１", S, ""), ("３", U, ""), ("1。", S, ""),
        ("2 一般般", A, ""), ("2一般", A, ""), ("3 师傅根本没来", U, "师傅根本没来"),
        ("3师傅根本没来", U, "师傅根本没来"), ("３，到现在都没人来", U, "到现在都没人来"),
        ("1 满意，师傅很负责", S, "师傅很负责"), ("3 还在漏水", U, "还在漏水"),
        ("1、满意", S, ""),
        # the words of the prompt and their everyday variants
        ("满意", S, ""), ("非常满意！！", S, ""), ("挺满意的", S, ""), ("好的，挺满意", S, ""),
        ("满意 谢谢", S, "谢谢"), ("满意。师傅很负责", S, "师傅很负责"), ("挺好的", S, ""),
        ("很好", S, ""), ("不错", S, ""), ("挺不错的", S, ""), ("可以", S, ""), ("可以的", S, ""),
        ("好评", S, ""), ("👍", S, ""), ("修好了，谢谢", S, "修好了，谢谢"),
        ("已经解决了", S, "已经解决了"), ("下水道通了", S, "下水道通了"),
        ("一般", A, ""), ("一般般吧", A, ""), ("还行吧", A, ""), ("还可以", A, ""),
        ("基本满意", A, ""), ("凑合", A, ""), ("马马虎虎", A, ""), ("差不多吧", A, ""),
        ("不满意", U, ""), ("不满意，问题还在", U, "问题还在"), ("差评", U, ""), ("差", U, ""),
        ("太差了", U, ""), ("不行", U, ""), ("没解决", U, "没解决"), ("还没解决", U, "还没解决"),
        ("没人来", U, "没人来"), ("根本没人来", U, "根本没人来"), ("问题还在", U, "问题还在"),
        ("没修好，还在滴水", U, "没修好，还在滴水"), ("2个小时了还没人来", U, "2个小时了还没人来"),
        ("敷衍了事", U, "敷衍了事"),
        # negation turns a cue round
        ("不太满意", U, ""), ("不是很满意，来得太晚", U, "来得太晚"), ("不怎么满意", U, ""),
        ("一点也不满意", U, ""), ("不好", U, ""), ("不是很好", U, ""), ("没有不满意", S, ""),
        ("灯还是不亮了", U, "灯还是不亮了"),
    ],
)
def test_replies_read_as_ratings(text, rating, comment):
    reply = read_rating_reply(text)
    assert reply is not None and reply.clear
    assert (reply.rating, reply.comment) == (rating, comment)


@pytest.mark.parametrize(
    "text",
    [
        "1 不满意",  # the digit and the words disagree
        "3 挺好的",
        "挺好的，就是问题还在",
        "满意，就是太慢",
        "还行，挺好",
        "不一般",
    ],
)
def test_replies_that_contradict_themselves_are_unclear(text):
    reply = read_rating_reply(text)
    assert reply is not None and not reply.clear and reply.rating is None


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "好的", "好", "行", "嗯", "收到", "谢谢", "谢谢你们", "ok", "你好", "在吗",
        "楼道里的灯又坏了",  # a new report
        "3号楼的下水道又堵了",  # an address, not a rating
        "1楼漏水了", "2单元门口有垃圾", "3点以后有人在家", "12", "15 号", "2.5米高的树倒了",
        "一般什么时候来修",  # 一般 as "usually"
        "可以帮我问一下低保吗",  # 可以 as "can"
        "修好了吗",  # a question
        "好了没",
        "水管漏得不行了",  # 不行 as "extremely"
        "满意度调查是什么",
        "医保怎么交",
        "查询 12",
    ],
)
def test_messages_that_are_not_ratings(text):
    assert read_rating_reply(text) is None


def test_the_comment_keeps_the_original_characters():
    reply = read_rating_reply("３　师傅来了，但是ＰＶＣ管还在漏！")
    assert reply is not None and reply.rating is U
    assert reply.comment == "师傅来了，但是ＰＶＣ管还在漏！"
