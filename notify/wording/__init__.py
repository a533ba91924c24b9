"""Every Chinese sentence GridBot says in chat, one module per feature.

``chat`` (the front door: greeting, help, intake replies), ``tickets`` (task cards, commands and
what residents and handlers are told), ``notices`` (notices and deadline reminders). The core's
refusal reasons and labels stay in :mod:`cases.wording`, below chat.
"""
