"""The demo page shows markdown as the WeCom client does, and never lets a message inject markup."""

from __future__ import annotations

from wecom.simulator.markdown import render


def test_the_wecom_subset_is_rendered():
    got = render('# 防汛通知\n**明天**有暴雨，请<font color="warning">远离河道</font>\n'
                 '> 东顺苑社区\n详见[通知](https://example.org/a) `12345`')
    assert got == (
        "<h1>防汛通知</h1>"
        '<b>明天</b>有暴雨，请<span style="color:#fa5151">远离河道</span><br>'
        "<blockquote>东顺苑社区</blockquote>"
        '详见<a href="https://example.org/a" target="_blank" rel="noopener">通知</a> '
        "<code>12345</code>"
    )


def test_anything_else_is_shown_as_typed_and_escaped():
    got = render('<script>alert(1)</script> <font color="red">红</font> [x](javascript:alert(1))')
    assert "<script>" not in got and "&lt;script&gt;" in got
    assert "&lt;font color=&quot;red&quot;&gt;红" in got  # only info/comment/warning are colours
    assert "<a " not in got  # only http(s) links


def test_the_feed_gives_markdown_messages_their_rendering_and_text_messages_none(bot):
    from flask import Flask

    from web.demo import DemoWorld, demo_blueprint

    page = Flask("demo-test")
    page.register_blueprint(demo_blueprint(DemoWorld(bot.settings, bot.state, bot.base_url)))
    client = page.test_client()
    bot.say_in_group("zhangsan", "wrDSY1", "我家门口的下水道堵了，污水都冒到路面上了")
    bot.process()
    bot.deliver()
    items = [i for i in client.get("/demo/api/feed").get_json()["items"] if i["kind"] == "bot"]
    markdown = [i for i in items if i["msgtype"] == "markdown"]
    assert markdown and all(i["html"] == render(i["content"]) for i in markdown)
    assert all("html" not in i for i in items if i["msgtype"] != "markdown")
