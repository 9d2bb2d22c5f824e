import XCTest
final class ComputeTestsPlaceholder: XCTestCase { func testNothing() {} }
