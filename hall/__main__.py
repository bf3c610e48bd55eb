from hall.app import main

main()
