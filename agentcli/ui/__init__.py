"""The interactive terminal chat: rich output, prompt_toolkit input, slash commands.

`chat.ChatApp` runs the conversation; `render.ChatRenderer` turns session events into
streamed markdown, tool lines and diffs; `input` reads prompts and approval answers;
`commands` holds the slash commands; `history` shows a resumed session's earlier turns.
"""
