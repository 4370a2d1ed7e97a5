// main.cpp: `streambed COMMAND [OPTIONS]` (app/command_line.cpp).
#include "app/command_line.hpp"

int main(int argc, char** argv) {
    return streambed::app::run_command_line(argc, argv);
}
