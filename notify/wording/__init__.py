"""Every Chinese sentence GridBot says in chat, one module per feature.

``chat`` (the front door: greeting, help, intake replies), ``tickets`` (task cards, commands and
what residents and handlers are told), ``notices`` (notices and deadline reminders),
``residents`` (reaching residents: group @-messages, what staff hear of a failed delivery),
``resident_list`` (居民名单). The core's
refusal reasons and labels stay in :mod:`cases.wording`, below chat.
"""
