import XCTest
final class LLMTestsPlaceholder: XCTestCase { func testNothing() {} }
