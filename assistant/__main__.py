from assistant.app import main

main()
