from runner.emulator.command import main

if __name__ == "__main__":
    main()
