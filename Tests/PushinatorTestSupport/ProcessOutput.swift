package import Foundation

/// The output of a finished process.
package struct ProcessOutput {
    package var status: Int32
    package var stdout: Data
    package var stderr: String
    package var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs an executable from `PATH` with a bounded wait (the process is killed past `timeout`).
package func run(_ executable: String, _ arguments: [String], timeout: Double = 20) async throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }
    let errData = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }
    let deadline = ContinuousClock.now + .seconds(timeout)
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            throw TestFailure("\(executable) did not finish within \(timeout) s")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    return ProcessOutput(
        status: process.terminationStatus,
        stdout: await outData.value,
        stderr: String(decoding: await errData.value, as: UTF8.self)
    )
}
