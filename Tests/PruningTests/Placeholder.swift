import XCTest
final class PruningTestsPlaceholder: XCTestCase { func testNothing() {} }
