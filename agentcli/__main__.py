from agentcli.cli.entry import main

main()
