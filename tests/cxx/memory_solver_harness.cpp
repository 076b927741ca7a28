// Runs OpenVINO's own ov::MemorySolver (src/inference/dev_api/openvino/runtime/memory_solver.hpp, a header of
// an OpenVINO source checkout; the wheel does not ship it) on boxes read from stdin, so that the golden values
// of tests/test_greedy_by_size.py can be regenerated (tests/test_memory_solver_cxx.py builds and runs it).
//
// stdin:  "solve" or "normalize", then one box per line: start finish size id
// solve:     "<solve()> <max_depth()> <max_top_depth()>" then get_offset(id) of each box, in input order
// normalize: "<normalize_boxes()>" then "start finish id" of each box after normalize_boxes, in its order
#include <iostream>
#include <string>
#include <vector>

#include "openvino/runtime/memory_solver.hpp"

int main() {
    std::string mode;
    std::cin >> mode;
    std::vector<ov::MemorySolver::Box> boxes;
    ov::MemorySolver::Box box;
    while (std::cin >> box.start >> box.finish >> box.size >> box.id)
        boxes.push_back(box);
    if (mode == "normalize") {
        std::cout << ov::MemorySolver::normalize_boxes(boxes) << "\n";
        for (const auto& b : boxes)
            std::cout << b.start << " " << b.finish << " " << b.id << "\n";
        return 0;
    }
    ov::MemorySolver solver(boxes);
    const int64_t total = solver.solve();
    std::cout << total << " " << solver.max_depth() << " " << solver.max_top_depth() << "\n";
    for (const auto& b : boxes)
        std::cout << solver.get_offset(static_cast<int>(b.id)) << "\n";
    return 0;
}
