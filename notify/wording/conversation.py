"""Every Chinese sentence of the conversation around a pending prompt (str.format templates).

The rating prompt itself is ``notify.wording.tickets.RATING_PROMPT``; the confirmation after a rating is
``handlers.ticket_texts.DONE_RATE``. These are the questions asked in between.
"""

WAITING_LINE = "#{number} {category}｜{text}"

REPROMPT_ONE = (
    "没看明白您对工单 #{number} 的评价。请回复 1 满意 / 2 一般 / 3 不满意，"
    "也可以在数字后写意见，如「3 还在漏水」。"
)
REPROMPT_MANY = (
    "您有 {count} 张工单在等评价：\n{lines}\n"
    "请回复工单号和评价，如「#{number} 满意」「#{number} 3 还在漏水」。"
)
ASK_WHICH = (
    "您有 {count} 张工单在等评价：\n{lines}\n"
    "您的评价「{rating}」是给哪一张的？请回复工单号，如「{number}」；都是请回复「都」。"
)
# Replies to "which ticket?" that mean every ticket listed (longest first; a rating may follow).
ALL_WORDS = ("两个都是", "两张都是", "都一样", "全部", "所有", "都是", "都")
